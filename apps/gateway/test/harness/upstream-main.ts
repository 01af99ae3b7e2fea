// The demo provider in a process of its own: prints {"url": ...} once listening, stops on SIGTERM.
import { startDemoProvider } from "../../src/demo/demo-provider.ts";

const apiKey = process.argv[2];
const provider = await startDemoProvider({ apiKey, anthropicApiKey: apiKey, requestLogLimit: 0 });
process.stdout.write(`${JSON.stringify({ url: provider.url })}\n`);
process.once("SIGTERM", () => {
  void provider.close().then(() => process.exit(0));
});
