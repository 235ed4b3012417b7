// Starts AWS's DynamoDB Local bound to 127.0.0.1 and without CORS (docs/adr/104).
//
// DynamoDB Local has no host option: its Jetty server listens on every interface, so anyone on
// the network could read every Secret or write a Pod. This launcher builds the server the way
// DynamoDB Local's own main does (ServerRunner.createServerFromCommandLineArgs, same command line),
// sets the host of every connector to 127.0.0.1 and empties the set of allowed CORS origins before
// starting it. Everything goes through reflection, so it compiles without DynamoDB Local on the
// class path. Any missing piece exits with status 3 and a message: it never starts unbound.
// The host that runs it checks the bound address itself afterwards (functions/local/dynamodb-local.ts).

import java.lang.reflect.Field;
import java.util.Collection;

public final class SkiffDynamoDbLocal {
  private static final String LOOPBACK = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    Class<?> runner = Class.forName("com.amazonaws.services.dynamodbv2.local.main.ServerRunner");
    Object proxy = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
    if (proxy == null) refuse("the command line was not accepted");
    Object server = field(proxy, "server");
    Object[] connectors = (Object[]) server.getClass().getMethod("getConnectors").invoke(server);
    if (connectors.length == 0) refuse("its server has no connector");
    for (Object connector : connectors) {
      connector.getClass().getMethod("setHost", String.class).invoke(connector, LOOPBACK);
    }
    Object handler = field(proxy, "serverHandler");
    ((Collection<?>) field(handler, "corsSet")).clear();
    proxy.getClass().getMethod("start").invoke(proxy);
  }

  private static Object field(Object owner, String name) throws IllegalAccessException {
    for (Class<?> type = owner.getClass(); type != null; type = type.getSuperclass()) {
      try {
        Field field = type.getDeclaredField(name);
        field.setAccessible(true);
        Object value = field.get(owner);
        if (value == null) refuse("its field " + name + " is empty");
        return value;
      } catch (NoSuchFieldException notHere) {
        // Declared further up.
      }
    }
    refuse("it has no field " + name + " in " + owner.getClass().getName() + " (a DynamoDB Local version this launcher does not know)");
    return null;
  }

  private static void refuse(String why) {
    System.err.println("skiff: cannot bind DynamoDB Local to " + LOOPBACK + ": " + why);
    System.exit(3);
  }
}
