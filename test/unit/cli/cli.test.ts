import test from "ava";
import { COMMANDS, mainHelp } from "../../../cli/cli.ts";
import { exitCodeOf } from "../../../cli/command.ts";
import { describeResources } from "../../../cli/commands/demo.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

test("cli - usage errors exit 2, runtime failures 1", (t) => {
  t.is(exitCodeOf(new AgoraError(ErrorCode.InvalidConfig, "x")), 2);
  t.is(exitCodeOf(new AgoraError(ErrorCode.InvalidResources, "x")), 2);
  t.is(exitCodeOf(new AgoraError(ErrorCode.Unavailable, "x")), 1);
  t.is(exitCodeOf(new Error("boom")), 1);
});

test("cli - each listed command loads the module of the same name and summary", async (t) => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    t.is(command.name, entry.name);
    t.is(command.summary, entry.summary);
    t.true(mainHelp().includes(entry.summary));
  }
});

test("cli - the demo describes resources like the seed", (t) => {
  t.is(describeResources({ cpus: 2, mem: 1024 }), "⟨2 CPUs, 1 GB⟩");
  t.is(describeResources({ cpus: 1, mem: 2048 }), "⟨1 CPU, 2 GB⟩");
  t.is(
    describeResources({ cpus: 1, mem: 1000, disk: 50, ports: [[31000, 32000]] }),
    "⟨1 CPU, 1000 MB⟩ (and disk 50 MB, ports 31000-32000)",
  );
});
