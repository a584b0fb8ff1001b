// The "agent": prints which declared variables it received, masked, so you can see Tessera at work.
const names = ["OPENAI_API_KEY", "MY_AGENT_KEY", "LANGFUSE_SECRET", "LANGFUSE_HOST"];
for (const name of names) {
  const value = process.env[name];
  const shown =
    value === undefined
      ? "(not set)"
      : value === ""
        ? "(empty)"
        : `${value.slice(0, 3)}… (${value.length} characters)`;
  console.log(`${name.padEnd(16)} ${shown}`);
}
// Its settings (config, not secret) are shown as they are.
for (const name of ["MODEL_PROVIDER", "MODEL_NAME", "LOG_LEVEL"])
  console.log(`${name.padEnd(16)} ${process.env[name] ?? "(not set)"}`);
// An agent that logs a secret by mistake: `tessera run` masks it whenever output is not a terminal
// (and always with --mask).
console.log(`debug: calling the model with key ${process.env.OPENAI_API_KEY}`);
