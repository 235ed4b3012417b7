import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: Lambda entries are given relative to it. */
export const projectRoot = path.resolve(import.meta.dirname, '..');

export interface SkiffFunctionProps {
  /** The handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no layer */
  readonly paramsAndSecrets?: lambda.ParamsAndSecretsLayerVersion;
  /**
   * Ship source maps and turn them on (`NODE_OPTIONS=--enable-source-maps`): readable stack
   * traces, paid for on every cold start (Node parses the maps when it loads the bundle).
   * @default false
   */
  readonly sourceMaps?: boolean;
  /** Executions reserved for (and the most allowed to) this function. @default - none: the account's shared pool */
  readonly reservedConcurrentExecutions?: number;
}

/** The Lambda runtime of every Skiff function (docs/adr/071). */
export const skiffRuntime = lambda.Runtime.NODEJS_22_X;

/**
 * A Skiff Lambda: TypeScript bundled by the local esbuild (no Docker), Node.js 22 on arm64,
 * its own log group with a retention, and a role that may write only to that log group
 * (instead of the AWSLambdaBasicExecutionRole managed policy, which allows every log group).
 */
export class SkiffFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SkiffFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(projectRoot, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: skiffRuntime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { ...(props.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}), ...props.environment },
      ...(props.paramsAndSecrets ? { paramsAndSecrets: props.paramsAndSecrets } : {}),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      projectRoot,
      depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: props.sourceMaps ?? false,
        // The SDK is bundled at the version the project pins, not the runtime's copy.
        externalModules: [],
        // CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import { createRequire as skiffCreateRequire } from 'node:module'; const require = skiffCreateRequire(import.meta.url);",
      },
    });
  }
}
