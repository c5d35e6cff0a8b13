// The official action's deploy-and-wait (aws-actions/amazon-ecs-deploy-task-definition, index.js,
// updateEcsService): register the task definition, UpdateService, then
//   waitUntilServicesStable({ client, minDelay: WAIT_DEFAULT_DELAY_SEC /* 15 */, maxWaitTime }, ...)
// with the waiter's maxDelay, which the action does not set: 120 s in the SDK versions the issue
// describes (the SDK installed here defaults servicesStable to 600 s, which only backs off more;
// 120 is passed explicitly so the comparison does not depend on the SDK version).
//
// Env: SIM_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, CLUSTER, SERVICES (comma list), IMAGE.
// Prints one JSON array: [{service, updated, done, state}] with unix times (seconds).
import {
  ECSClient,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";

const client = new ECSClient({
  region: "us-east-1",
  endpoint: process.env.SIM_URL,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});
const cluster = process.env.CLUSTER;
const WAIT_DEFAULT_DELAY_SEC = 15;

async function deploy(service) {
  const svc = (await client.send(new DescribeServicesCommand({ cluster, services: [service] }))).services[0];
  const td = (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: svc.taskDefinition }))).taskDefinition;
  const registered = await client.send(new RegisterTaskDefinitionCommand({
    family: td.family,
    networkMode: td.networkMode,
    requiresCompatibilities: td.requiresCompatibilities,
    cpu: td.cpu,
    memory: td.memory,
    containerDefinitions: td.containerDefinitions.map((c) => ({ ...c, image: process.env.IMAGE })),
  }));
  await client.send(new UpdateServiceCommand({ cluster, service, taskDefinition: registered.taskDefinition.taskDefinitionArn }));
  const updated = Date.now() / 1000;
  const result = await waitUntilServicesStable(
    { client, minDelay: WAIT_DEFAULT_DELAY_SEC, maxDelay: 120, maxWaitTime: 30 * 60 },
    { services: [service], cluster },
  );
  return { service, updated, done: Date.now() / 1000, state: result.state };
}

const services = process.env.SERVICES.split(",");
console.log(JSON.stringify(await Promise.all(services.map(deploy))));
