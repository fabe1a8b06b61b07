/*
 * A single OpenSearch node started from jars on the classpath, for logfleet's development stack.
 *
 * A distribution starts OpenSearch through its Bootstrap with the modules unpacked in modules/. Here the
 * modules are ordinary jars on the classpath, so this class hands their plugin classes to Node's
 * constructor (as the test framework's MockNode does); plugins unpacked in <path.home>/plugins (such as
 * index management and job scheduler) are loaded by the node itself. Settings come from
 * <config>/opensearch.yml and logging from <config>/log4j2.properties, where the config folder is the
 * system property opensearch.path.conf. SIGTERM closes the node cleanly.
 */
package org.logfleet.devstack;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class OpenSearchNode extends Node {

    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class
    );

    private OpenSearchNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
        super(environment, classpathPlugins, true);
    }

    public static void main(String[] args) throws Exception {
        String home = System.getProperty("opensearch.path.home");
        String conf = System.getProperty("opensearch.path.conf");
        if (home == null || conf == null) {
            System.err.println("set -Dopensearch.path.home=DIR and -Dopensearch.path.conf=DIR");
            System.exit(2);
        }
        Settings base = Settings.builder().put("path.home", home).build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            base, Map.of(), Path.of(conf), () -> "logfleet-dev"
        );
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(environment);
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));

        OpenSearchNode node;
        try {
            node = new OpenSearchNode(environment, MODULES);
        } catch (Exception e) {
            fail(e);
            return;
        }
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "logfleet-opensearch-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            fail(e);
        }
        System.out.println("logfleet-opensearch-node started");
        closed.await();
    }

    /** One line with the chain of causes (what the caller shows), then exit 1 (the hook closes the node). */
    private static void fail(Throwable error) {
        StringBuilder line = new StringBuilder("logfleet-opensearch-node failed:");
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            line.append(' ').append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage()).append(';');
        }
        System.err.println(line);
        System.exit(1);
    }
}
