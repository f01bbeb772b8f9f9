import { mkdirSync } from 'node:fs';
import { openCluster, startCluster } from './cluster';

/*
 * Starts or stops the test cluster by hand:
 *   npm run cluster -- start [dir]    three nodes tidings-c1..c3@localhost; prints their URLs
 *   npm run cluster -- stop [dir]     stops them (kills what does not stop) and removes dir
 * dir defaults to /tmp/tidings-cluster. Set CONFIRM_TIMEOUT_MS to change the nodes'
 * dead_letter_worker_publisher_confirm_timeout (180000 by default in RabbitMQ).
 */
async function main(): Promise<void> {
  const [command, dir = '/tmp/tidings-cluster'] = process.argv.slice(2);
  if (command === 'start') {
    mkdirSync(dir, { recursive: true });
    const timeout = process.env.CONFIRM_TIMEOUT_MS;
    const cluster = await startCluster({ prefix: 'tidings', dir, rabbit: timeout ? { dead_letter_worker_publisher_confirm_timeout: Number(timeout) } : {} });
    console.log(`cluster running in ${dir}:`);
    for (const n of cluster.nodes) console.log(`  ${n.name}  ${n.url}`);
    console.log(`AMQP_URL=${cluster.urls.join(',')}`);
    console.log(`stop it with: npm run cluster -- stop ${dir}`);
  } else if (command === 'stop') {
    await (await openCluster(dir)).stop();
    console.log(`cluster in ${dir} stopped`);
  } else {
    console.error('usage: npm run cluster -- start|stop [dir]');
    process.exitCode = 2;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
