// `docker exec` for tests that drive a real system inside its container (rabbitmqctl, wget...).
import type Docker from 'dockerode';

/** Runs cmd in the container (as its configured user) with a TTY, so the output is one raw stream. */
export async function execIn(container: Docker.Container, cmd: string[]): Promise<{ exitCode: number | null; output: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { exitCode: (await exec.inspect()).ExitCode, output: Buffer.concat(chunks).toString('utf8') };
}
