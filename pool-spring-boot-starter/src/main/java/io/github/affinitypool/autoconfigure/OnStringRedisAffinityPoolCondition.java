package io.github.affinitypool.autoconfigure;

import java.util.Arrays;
import java.util.List;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.lettuce.core.api.reactive.RedisReactiveCommands;

import org.springframework.beans.factory.NoSuchBeanDefinitionException;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.ResolvableType;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when the context holds exactly one {@code RedisAffinityPool<String, String>}, or one primary among several:
 * the pool whose {@code commands()} the auto-configuration can offer as {@code RedisReactiveCommands<String, String>};
 * and when the application defines no {@code RedisReactiveCommands<String, String>} of its own. Spring Boot's
 * {@code @ConditionalOnSingleCandidate} and {@code @ConditionalOnMissingBean} cannot say this: they ignore generics, so
 * an application whose own pool uses another codec would get a bean that fails to inject it, and one with its own
 * {@code RedisReactiveCommands<byte[], byte[]>} would lose the {@code String} commands.
 */
final class OnStringRedisAffinityPoolCondition extends SpringBootCondition {

    private static final ResolvableType STRING_POOL = ResolvableType.forClassWithGenerics(RedisAffinityPool.class,
            String.class, String.class);

    private static final ResolvableType STRING_COMMANDS = ResolvableType.forClassWithGenerics(
            RedisReactiveCommands.class, String.class, String.class);

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        ConditionMessage.Builder message = ConditionMessage.forCondition("RedisAffinityPool<String, String>");
        ConfigurableListableBeanFactory beanFactory = context.getBeanFactory();
        List<String> commands = beansOfType(beanFactory, STRING_COMMANDS);
        if (!commands.isEmpty()) {
            return ConditionOutcome.noMatch(message.found("bean of type " + STRING_COMMANDS).items(commands));
        }
        List<String> names = beansOfType(beanFactory, STRING_POOL);
        if (names.isEmpty()) {
            return ConditionOutcome.noMatch(message.didNotFind("bean of type " + STRING_POOL).atAll());
        }
        if (names.size() == 1 || names.stream().filter(name -> isPrimary(beanFactory, name)).count() == 1) {
            return ConditionOutcome.match(message.found("single candidate of type " + STRING_POOL).items(names));
        }
        return ConditionOutcome.noMatch(message.found("several candidates of type " + STRING_POOL + ", none primary")
                .items(names));
    }

    /**
     * @return the beans whose declared type is {@code wanted}, or its raw class (a bean registered with a supplier),
     *         which Spring would inject as one too
     */
    private static List<String> beansOfType(ConfigurableListableBeanFactory beanFactory, ResolvableType wanted) {
        return Arrays.stream(beanFactory.getBeanNamesForType(wanted.toClass(), true, false))
                .filter(name -> {
                    beanFactory.getType(name, false); // resolves a factory method's generic return type
                    ResolvableType type = beanFactory.getMergedBeanDefinition(name).getResolvableType();
                    return type.hasUnresolvableGenerics() || wanted.isAssignableFrom(type);
                })
                .toList();
    }

    private static boolean isPrimary(ConfigurableListableBeanFactory beanFactory, String name) {
        try {
            return beanFactory.getMergedBeanDefinition(name).isPrimary();
        }
        catch (NoSuchBeanDefinitionException ex) {
            return false;
        }
    }
}
