/**
 * The Skiff CDK app: `npx cdk synth` / `npx cdk deploy`. cdk-nag's AWS Solutions checks run on
 * every synth; each suppression in the stack says why.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkiffStack } from './skiff-stack.ts';

const app = new App();
new SkiffStack(app, app.node.tryGetContext('stackName') ?? 'Skiff', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
