/**
 * `deno task course` without running the course: the real step table planned on an empty root,
 * and fake steps (a `deno eval` that writes the manifest a task would, or one that exits 3) run
 * by the real runner in a temp directory for skipping, staleness, --force, --only, failure and
 * resume, missing tasks and course.json; plus the task itself in --dry-run and with a bad flag.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkOrder,
  observeManifests,
  planCourse,
  type PlannedStep,
  type PlanOptions,
} from "../src/course/plan.ts";
import { courseFile, type CourseRecord, type RunCommand, runCourse } from "../src/course/run.ts";
import { BUDGETS, type Step, STEPS } from "../src/course/steps.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function _denoTasks(): Promise<Set<string>> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return new Set(Object.keys(config.tasks));
}

async function _withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "course_test" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A fake step: no flags but --out, and `--size small` under quick. */
function _fake(name: string, deps: string[] = [], partialDeps = false): Step {
  return {
    name,
    task: name,
    deps,
    ...(partialDeps ? { partialDeps } : {}),
    args: (root, budget) => [
      "--out",
      join(root, name),
      ...(budget === "quick" ? ["--size", "small"] : []),
    ],
  };
}

// What every task does last: write <out>/manifest.json with its flags.
const WRITE_MANIFEST = `
const args = Deno.args, out = args[args.indexOf("--out") + 1];
await Deno.mkdir(out, { recursive: true });
await Deno.writeTextFile(out + "/manifest.json", JSON.stringify({ version: 1, task: "fake",
  created: new Date().toISOString(), commit: null, args }));
`;

/** Runs each step as a `deno eval` child; the steps named in `failing` exit 3 instead. */
function _fakeRunner(failing: string[] = [], ran: string[] = []): RunCommand {
  return async (p: PlannedStep) => {
    ran.push(p.step.name);
    const code = failing.includes(p.step.name) ? "Deno.exit(3)" : WRITE_MANIFEST;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code, ...p.args],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code;
  };
}

const CHAIN = [_fake("a"), _fake("b", ["a"]), _fake("c", ["b"])];
const ALL = new Set(["a", "b", "c", "d", "fail"]);

async function _plan(
  steps: Step[],
  root: string,
  o: Partial<PlanOptions> = {},
) {
  return planCourse(steps, await observeManifests(steps, root), {
    root,
    budget: "full",
    force: false,
    tasks: ALL,
    ...o,
  });
}

const decisions = (planned: PlannedStep[]) =>
  Object.fromEntries(planned.map((p) => [p.step.name, p.decision]));

async function _run(planned: PlannedStep[], root: string, run = _fakeRunner()) {
  const lines: string[] = [];
  const result = await runCourse(planned, {
    root,
    budget: "full",
    run,
    resume: "deno task course",
    print: (l) => lines.push(l),
  });
  return { ...result, lines };
}

Deno.test("STEPS on an empty root: every step runs, each after its dependencies, tasks exist or are missing", async () => {
  checkOrder(STEPS);
  const tasks = await _denoTasks();
  await _withTemp(async (root) => {
    for (const budget of BUDGETS) {
      const planned = await _plan([...STEPS], root, { budget, tasks });
      const seen = new Set<string>();
      for (const p of planned) {
        for (const d of p.step.deps) assert.ok(seen.has(d), `${p.step.name} before its dep ${d}`);
        seen.add(p.step.name);
        assert.deepEqual(p.argv.slice(0, 3), ["deno", "task", p.step.task]);
        assert.equal(p.decision, tasks.has(p.step.task) ? "run" : "missing", p.step.name);
        assert.equal(p.args[p.args.indexOf("--out") + 1], join(root, p.step.name));
        // Inputs come from the same root, never from the tasks' defaults under out/.
        for (const flag of ["--checkpoint", "--in"]) {
          const i = p.args.indexOf(flag);
          if (i >= 0) assert.ok(p.args[i + 1].startsWith(root), `${p.step.name} ${flag}`);
        }
      }
      const names = planned.map((p) => p.step.name);
      for (
        const want of ["train-bernoulli", "compare-likelihoods", "mlp-figures", "train-blog"]
      ) assert.ok(names.includes(want), want);
      assert.equal(names.at(-1), "report");
      const bern = planned.find((p) => p.step.name === "train-bernoulli")!;
      assert.equal(bern.args.includes("--train-limit"), budget === "quick");
      assert.equal(bern.args.includes("--epochs"), budget !== "full");
    }
  });
});

Deno.test("course skips up-to-date steps and reruns those older than a dependency or with other flags", async () => {
  await _withTemp(async (root) => {
    const first = await _run(await _plan(CHAIN, root), root);
    assert.equal(first.failure, undefined);
    assert.deepEqual(first.record.steps.map((s) => s.status), ["ran", "ran", "ran"]);

    let planned = await _plan(CHAIN, root);
    assert.deepEqual(decisions(planned), { a: "skip", b: "skip", c: "skip" });
    assert.ok(planned.every((p) => p.reason === "up to date"));
    const again = await _run(planned, root);
    assert.ok(again.lines.some((l) => /c: up to date in /.test(l)), again.lines.join("\n"));

    // a's output is newer than b's: b reads stale input, and c follows b.
    const future = new Date(Date.now() + 60_000);
    await Deno.utime(join(root, "a", "manifest.json"), future, future);
    planned = await _plan(CHAIN, root);
    assert.deepEqual(decisions(planned), { a: "skip", b: "run", c: "run" });
    assert.match(planned[1].reason, /older than a's output/);
    assert.match(planned[2].reason, /b runs first/);

    // Other flags (the quick budgets) make every step stale.
    planned = await _plan(CHAIN, root, { budget: "quick" });
    assert.deepEqual(decisions(planned), { a: "run", b: "run", c: "run" });
    assert.match(planned[0].reason, /made with other flags \(was: --out .*a\)/);

    planned = await _plan(CHAIN, join(root, "elsewhere"));
    assert.match(planned[0].reason, /no manifest.json yet/);
  });
});

Deno.test("course --force runs every step and --only runs only the named ones", async () => {
  await _withTemp(async (root) => {
    await _run(await _plan(CHAIN, root), root);
    assert.deepEqual(decisions(await _plan(CHAIN, root, { force: true })), {
      a: "run",
      b: "run",
      c: "run",
    });

    const ran: string[] = [];
    const only = await _plan(CHAIN, root, { force: true, only: new Set(["b"]) });
    assert.deepEqual(decisions(only), { a: "skip", b: "run", c: "skip" });
    assert.equal(only[0].reason, "not in --only");
    await _run(only, root, _fakeRunner([], ran));
    assert.deepEqual(ran, ["b"]);
    // Without --force an --only step that is up to date is skipped like any other.
    assert.deepEqual(decisions(await _plan(CHAIN, root, { only: new Set(["b"]) })).b, "skip");

    // An --only step whose dependency has no output is blocked, not run to fail.
    const empty = join(root, "empty");
    const blocked = await _plan(CHAIN, empty, { only: new Set(["b"]) });
    assert.equal(blocked[1].decision, "blocked");
    assert.match(blocked[1].reason, /needs a's output, which is not there \(a is not in --only\)/);
  });
});

Deno.test("a failing step stops the course with its exit code and command, and a rerun resumes there", async () => {
  await _withTemp(async (root) => {
    const steps = [_fake("a"), _fake("fail", ["a"]), _fake("c", ["fail"]), _fake("d")];
    const ran: string[] = [];
    const r = await _run(await _plan(steps, root), root, _fakeRunner(["fail"], ran));
    assert.deepEqual(ran, ["a", "fail"]);
    assert.ok(r.failure);
    assert.equal(r.failure.step, "fail");
    assert.equal(r.failure.code, 3);
    assert.match(
      r.failure.message,
      /Course step fail failed with exit code 3; the 2 steps after it did not run/,
    );
    assert.ok(r.failure.message.includes(`deno task fail --out ${join(root, "fail")}`));
    assert.match(r.failure.message, /rerun `deno task course`: it skips the finished steps/);
    assert.doesNotMatch(r.failure.message, /--resume/);
    assert.deepEqual(r.record.steps.map((s) => s.status), ["ran", "failed", "planned", "planned"]);
    assert.equal(r.record.steps[1].exit_code, 3);

    const saved: CourseRecord = JSON.parse(await Deno.readTextFile(courseFile(root)));
    assert.deepEqual(saved.steps.map((s) => s.status), ["ran", "failed", "planned", "planned"]);
    assert.ok(saved.finished !== null);

    // Fixed: the rerun skips a and resumes at the failed step.
    const again: string[] = [];
    const planned = await _plan(steps, root);
    assert.deepEqual(decisions(planned), { a: "skip", fail: "run", c: "run", d: "run" });
    const r2 = await _run(planned, root, _fakeRunner([], again));
    assert.deepEqual(again, ["fail", "c", "d"]);
    assert.equal(r2.failure, undefined);
  });
});

Deno.test("a failed training step with a last checkpoint offers --resume, whose run counts as the course's", async () => {
  await _withTemp(async (root) => {
    const steps = [_fake("fail"), _fake("c", ["fail"])];
    await Deno.mkdir(join(root, "fail"));
    await Deno.writeFile(join(root, "fail", "last.safetensors"), new Uint8Array(8));
    const r = await _run(await _plan(steps, root), root, _fakeRunner(["fail"]));
    const last = join(root, "fail", "last.safetensors");
    assert.ok(
      r.failure!.message.includes(
        `(or continue its training from the last finished epoch in ${last}: ` +
          `deno task fail --out ${join(root, "fail")} --resume)`,
      ),
      r.failure!.message,
    );
    // The user continues by hand with --resume: the course takes that run as its own.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", WRITE_MANIFEST, "--out", join(root, "fail"), "--resume"],
    }).output();
    assert.equal(out.code, 0);
    assert.deepEqual(decisions(await _plan(steps, root)), { fail: "skip", c: "run" });
  });
});

Deno.test("a task missing from deno.json is missing, its dependents blocked, the report still runs", async () => {
  await _withTemp(async (root) => {
    const steps = [
      _fake("a"),
      _fake("b", ["a"]),
      _fake("c", ["b"]),
      _fake("d", ["a", "b", "c"], true),
    ];
    const tasks = new Set(["a", "c", "d"]);
    const ran: string[] = [];
    const planned = await _plan(steps, root, { tasks });
    assert.deepEqual(decisions(planned), { a: "run", b: "missing", c: "blocked", d: "run" });
    assert.equal(planned[1].reason, 'no "b" task in deno.json');
    assert.equal(planned[2].reason, "needs b, which is missing");
    const r = await _run(planned, root, _fakeRunner([], ran));
    assert.deepEqual(ran, ["a", "d"]);
    assert.deepEqual(r.record.steps.map((s) => s.status), ["ran", "missing", "blocked", "ran"]);
    assert.ok(r.lines.some((l) => /b: missing: no "b" task in deno.json/.test(l)));
    assert.equal(r.failure, undefined);
  });
});

Deno.test("course.json records quick, root, times and each step's task, out, status, seconds, command", async () => {
  await _withTemp(async (root) => {
    const planned = await _plan(CHAIN, root, { budget: "quick" });
    const lines: string[] = [];
    await runCourse(planned, {
      root,
      budget: "quick",
      run: _fakeRunner(),
      resume: "deno task course --quick",
      print: (l) => lines.push(l),
    });
    const j: CourseRecord = JSON.parse(await Deno.readTextFile(courseFile(root)));
    assert.equal(j.version, 1);
    assert.equal(j.quick, true);
    assert.equal(j.budget, "quick");
    assert.equal(j.root, root);
    assert.ok(Date.parse(j.started) <= Date.parse(j.finished!));
    assert.deepEqual(Object.keys(j.steps[0]).sort(), [
      "command",
      "out",
      "reason",
      "seconds",
      "status",
      "task",
    ]);
    assert.deepEqual(j.steps[0], {
      task: "a",
      out: join(root, "a"),
      status: "ran",
      seconds: j.steps[0].seconds,
      command: `deno task a --out ${join(root, "a")} --size small`,
      reason: "no manifest.json yet",
    });
    assert.ok(typeof j.steps[0].seconds === "number" && j.steps[0].seconds >= 0);
    assert.ok(
      lines.some((l) => /^\[1\/3\] a: running \(no manifest.json yet\), output in /.test(l)),
    );
    assert.ok(lines.some((l) => /^\[1\/3\] a: ran in \d+\.\d s$/.test(l)));
  });
});

async function _course(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/course.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("deno task course --dry-run prints each step's plan and command and writes nothing", async () => {
  const tasks = await _denoTasks();
  await _withTemp(async (root) => {
    const r = await _course(["--dry-run", "--quick", "--root", root]);
    assert.equal(r.code, 0, r.stderr);
    for (const s of STEPS) {
      const want = tasks.has(s.task) ? "run" : "missing";
      assert.match(r.stdout, new RegExp(`^  ${s.name} +${want} `, "m"), s.name);
    }
    assert.ok(
      r.stdout.includes(`$ deno task train-bernoulli --out ${root}/train-bernoulli --epochs 1`),
    );
    assert.ok(r.stdout.includes(`--checkpoint ${root}/train-mlp/model.safetensors`));
    assert.match(r.stdout, /\(dry run: nothing ran\)/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), []);
  });
});

Deno.test("deno task course rejects a bad flag or step name with exit 2 and the usage", async () => {
  const bad = await _course(["--frce"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown flag --frce \(did you mean --force\?\)/);
  assert.match(bad.stderr, /Usage: deno task course/);
  assert.doesNotMatch(bad.stderr, /^\s+at /m);

  const only = await _course(["--only", "train-bernouli", "--dry-run"]);
  assert.equal(only.code, 2);
  assert.match(
    only.stderr,
    /--only names no step 'train-bernouli'; the steps are train-bernoulli,/,
  );
});

Deno.test("under the default root out/ the steps pass no location flags, so runs by hand count", () => {
  for (const s of STEPS) {
    const full = s.args("out", "full"), quick = s.args("out", "quick");
    for (const flag of ["--out", "--in", "--checkpoint"]) {
      assert.ok(!full.includes(flag), `${s.name}: ${full.join(" ")}`);
      assert.ok(!quick.includes(flag), `${s.name}: ${quick.join(" ")}`);
    }
    // Under any other root each step is told where to write.
    assert.ok(s.args("out/quick", "quick").includes("--out"), s.name);
  }
  assert.deepEqual(STEPS.find((s) => s.name === "train-mlp")!.args("out", "full"), []);
  assert.deepEqual(STEPS.find((s) => s.name === "infer")!.args("elsewhere", "full"), [
    "--checkpoint",
    "elsewhere/train-bernoulli/model.safetensors",
    "--out",
    "elsewhere/infer",
  ]);
});

Deno.test("a step interrupted after --force is not up to date: its old manifest goes first", async () => {
  await _withTemp(async (root) => {
    await _run(await _plan(CHAIN, root), root);
    const forced = await _plan(CHAIN, root, { force: true, only: new Set(["a"]) });
    const r = await _run(forced, root, _fakeRunner(["a"]));
    assert.equal(r.failure?.step, "a");
    const planned = await _plan(CHAIN, root);
    assert.deepEqual(decisions(planned), { a: "run", b: "run", c: "run" });
    assert.match(planned[0].reason, /no manifest.json yet/);
  });
});

Deno.test("a step whose recorded outputs are gone or changed is not up to date", async () => {
  await _withTemp(async (root) => {
    await _run(await _plan(CHAIN, root), root);
    const dir = join(root, "b"), manifest = join(dir, "manifest.json");
    await Deno.writeTextFile(join(dir, "model.safetensors"), "12345");
    await Deno.writeTextFile(join(dir, "samples.png"), "123");
    const m = JSON.parse(await Deno.readTextFile(manifest));
    await Deno.writeTextFile(
      manifest,
      JSON.stringify({ ...m, files: { "model.safetensors": 5, "samples.png": 3 } }),
    );
    assert.equal(decisions(await _plan(CHAIN, root)).b, "skip");
    await Deno.remove(join(dir, "samples.png"));
    await Deno.writeTextFile(join(dir, "model.safetensors"), "1234");
    const planned = await _plan(CHAIN, root);
    assert.deepEqual(decisions(planned), { a: "skip", b: "run", c: "run" });
    assert.match(
      planned[1].reason,
      /outputs changed since its manifest: model.safetensors changed size, samples.png is gone/,
    );
  });
});

Deno.test("SIGINT during a course step: exit non-zero, the step failed and not up to date", async () => {
  await _withTemp(async (root) => {
    // A finished step first, so that there is an old manifest the interrupted run must not keep.
    const done = await _course(["--quick", "--only", "train-mlp", "--root", root]);
    assert.equal(done.code, 0, done.stderr);
    const manifest = join(root, "train-mlp", "manifest.json");
    assert.ok(await Deno.stat(manifest));

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tasks/course.ts",
        "--quick",
        "--only",
        "train-mlp",
        "--force",
        "--root",
        root,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Interrupt once the step has started (its old manifest is gone), before it finishes.
    const t0 = performance.now();
    while (await Deno.stat(manifest).then(() => true, () => false)) {
      assert.ok(performance.now() - t0 < 60_000, "the step never started");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const r = await child.output();
    assert.notEqual(r.code, 0);
    const record: CourseRecord = JSON.parse(await Deno.readTextFile(courseFile(root)));
    assert.equal(record.steps.find((s) => s.task === "train-mlp")?.status, "failed");
    assert.equal(await Deno.stat(manifest).catch(() => null), null, "a manifest after SIGINT");
    const plan = await _course(["--quick", "--only", "train-mlp", "--root", root, "--dry-run"]);
    assert.match(plan.stdout, /train-mlp +run +no manifest.json yet/);
  });
});

Deno.test("course.json keeps, for steps up to date, the time an earlier course took", async () => {
  await _withTemp(async (root) => {
    const first = await _run(await _plan(CHAIN, root), root);
    const took = first.record.steps.map((s) => s.seconds);
    assert.ok(took.every((t) => typeof t === "number"));
    const again = await _run(await _plan(CHAIN, root), root);
    assert.deepEqual(again.record.steps.map((s) => s.earlier_seconds), took);
    assert.deepEqual(again.record.steps.map((s) => s.seconds), [null, null, null]);
    // And on through a third run; a step that runs again has its own time, none carried.
    const third = await _run(await _plan(CHAIN, root, { force: true, only: new Set(["c"]) }), root);
    assert.deepEqual(third.record.steps.map((s) => s.earlier_seconds), [
      ...took.slice(0, 2),
      undefined,
    ]);
  });
});
