import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { join } from "node:path";
import {
  type FlagSpecs,
  HelpRequested,
  parseFlags,
  printWritten,
  runTask,
  type TaskIo,
  UsageError,
} from "../src/cli.ts";
import { CheckpointError } from "../src/safetensors.ts";
import { debugEnabled } from "../src/debug.ts";
import { Progress, type ProgressSink } from "../src/progress.ts";

const SPEC = {
  epochs: {
    type: "number",
    default: 100,
    integer: true,
    min: 1,
    max: 1000,
    help: "training epochs",
  },
  lr: { type: "number", default: 1e-3, min: 0, help: "Adam learning rate" },
  trainLimit: { type: "number", integer: true, min: 1, help: "train on the first N images" },
  likelihood: {
    type: "choice",
    choices: ["gaussian", "beta", "categorical", "bernoulli"],
    default: "bernoulli",
    help: "pixel likelihood",
  },
  resume: { type: "boolean", default: false, help: "continue from the checkpoint" },
  progress: { type: "boolean", default: true, help: "show a progress bar" },
  out: { type: "string", default: "out/train-mlp", value: "DIR", help: "output directory" },
} as const satisfies FlagSpecs;
const USAGE = { task: "train-mlp", summary: "Trains the MLP VAE on binarized MNIST." };

function usageError(fragment: string) {
  return (e: unknown) => {
    assert(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    assert(e.usage.includes("--train-limit N"), "UsageError carries the usage text");
    return true;
  };
}

/** A TaskIo that records instead of printing and exiting. */
function recorder() {
  const rec = { code: undefined as number | undefined, out: "", err: "" };
  const io: TaskIo = {
    exit: (code) => void (rec.code = code),
    stdout: (t) => void (rec.out += t + "\n"),
    stderr: (t) => void (rec.err += t + "\n"),
  };
  return { rec, io };
}

Deno.test("parseFlags gives defaults and typed values for kebab-case flags", () => {
  const d = parseFlags([], SPEC, USAGE);
  assertEquals(d, {
    epochs: 100,
    lr: 1e-3,
    trainLimit: undefined,
    likelihood: "bernoulli",
    resume: false,
    progress: true,
    out: "out/train-mlp",
  });
  const f = parseFlags(
    ["--epochs", "5", "--lr=3e-4", "--train-limit", "2000", "--likelihood", "beta", "--resume"]
      .concat(["--no-progress", "--out", "/tmp/x"]),
    SPEC,
    USAGE,
  );
  assertEquals(f, {
    epochs: 5,
    lr: 3e-4,
    trainLimit: 2000,
    likelihood: "beta",
    resume: true,
    progress: false,
    out: "/tmp/x",
  });
  // The types follow the spec: a choice is its literal union, a flag without default may be absent.
  const lik: "gaussian" | "beta" | "categorical" | "bernoulli" = f.likelihood;
  const limit: number | undefined = f.trainLimit;
  assert(lik && limit);
});

Deno.test("parseFlags rejects unknown flags, bad numbers, out-of-range values and bad choices", () => {
  const cases: [string[], string][] = [
    [["--epoch", "3"], "unknown flag --epoch (did you mean --epochs?)"],
    [["--frobnicate"], "unknown flag --frobnicate"],
    [["--epochs", "0"], "--epochs must be 1 to 1000; got 0"],
    [["--epochs", "1001"], "--epochs must be 1 to 1000; got 1001"],
    [["--epochs", "2.5"], "--epochs must be an integer; got 2.5"],
    [["--epochs", "ten"], "--epochs must be a number; got 'ten'"],
    [["--epochs="], "--epochs must be a number; got ''"],
    [["--lr=-1"], "--lr must be at least 0; got -1"],
    [
      ["--likelihood", "poisson"],
      "--likelihood must be one of gaussian, beta, categorical, bernoulli; got 'poisson'",
    ],
    [["--epochs"], "--epochs needs a value"],
    [["--epochs", "--resume"], "--epochs needs a value"],
    [["--resume=yes"], "--resume is a switch and takes no value"],
    [["extra"], "unexpected argument 'extra'"],
    // An integer flag without a max stops where a u32/i32 on the GPU would wrap.
    [["--train-limit", "4294967296"], "--train-limit must be 1 to 2147483647; got 4294967296"],
    [["--train-limit", "1e300"], "--train-limit must be 1 to 2147483647; got 1e300"],
  ];
  for (const [argv, message] of cases) {
    throws(() => parseFlags(argv, SPEC, USAGE), usageError(message));
  }
});

Deno.test("parseFlags answers --help with a usage listing every flag, its default and help", () => {
  for (const argv of [["--help"], ["-h"], ["--epochs", "3", "--help"]]) {
    throws(() => parseFlags(argv, SPEC, USAGE), (e: unknown) => {
      assert(e instanceof HelpRequested);
      const u = e.usage;
      assert(u.startsWith("Usage: deno task train-mlp [flags]\n\nTrains the MLP VAE"), u);
      for (
        const line of [
          /--epochs N +training epochs \(1 to 1000\); default 100/,
          /--lr X +Adam learning rate \(at least 0\); default 0\.001/,
          /--train-limit N +train on the first N images \(at least 1\)\n/,
          /--likelihood gaussian\|beta\|categorical\|bernoulli +pixel likelihood; default "bernoulli"/,
          /--resume +continue from the checkpoint\n/,
          /--no-progress +show a progress bar \(on by default; --no-progress turns it off\)/,
          /--out DIR +output directory; default "out\/train-mlp"/,
          /-h, --help +show this help and exit/,
        ]
      ) assert(line.test(u), `usage lacks ${line}:\n${u}`);
      return true;
    });
  }
});

Deno.test("runTask exits 2 on usage errors and bad input files, 0 on --help, 1 on failures", async () => {
  let r = recorder();
  await runTask(() => void parseFlags(["--epochs", "0"], SPEC, USAGE), r.io);
  assertEquals(r.rec.code, 2);
  assert(
    r.rec.err.startsWith("error: --epochs must be 1 to 1000; got 0\n\nUsage: deno task train-mlp"),
  );

  r = recorder();
  await runTask(() => void parseFlags(["--help"], SPEC, USAGE), r.io);
  assertEquals(r.rec.code, 0);
  assert(r.rec.out.includes("--train-limit N"));
  assertEquals(r.rec.err, "");

  r = recorder();
  await runTask(() => {
    throw new CheckpointError("out/x/model.safetensors", "no such file; run `deno task x` first");
  }, r.io);
  assertEquals(r.rec.code, 2);
  assertEquals(
    r.rec.err,
    "error: Cannot load checkpoint out/x/model.safetensors: no such file; run `deno task x` first\n",
  );

  r = recorder();
  await runTask(async () => {
    await Promise.resolve();
    const e = new Error("Cannot read MNIST: data/train-images-idx3-ubyte is 12 bytes");
    e.name = "DataError";
    throw e;
  }, r.io);
  assertEquals([r.rec.code, r.rec.err], [
    2,
    "error: Cannot read MNIST: data/train-images-idx3-ubyte is 12 bytes\n",
  ]);

  r = recorder();
  await runTask(() => {
    throw new TypeError("x is not a function");
  }, r.io);
  assertEquals(r.rec.code, 1);
  assert(
    r.rec.err.startsWith("TypeError: x is not a function\n    at "),
    "unknown errors keep the stack",
  );

  r = recorder();
  let ran = false;
  await runTask(async () => void (ran = await Promise.resolve(true)), r.io);
  assertEquals([ran, r.rec.code, r.rec.out, r.rec.err], [true, undefined, "", ""]);
});

Deno.test("printWritten prints each path, relative to the working directory when inside it", () => {
  const r = recorder();
  printWritten(
    [join(Deno.cwd(), "out", "a", "elbo.svg"), "out/a/log.json", "/elsewhere/x.png"],
    r.io,
  );
  assertEquals(r.rec.out, "wrote out/a/elbo.svg\nwrote out/a/log.json\nwrote /elsewhere/x.png\n");
});

/** A fake stderr and clock, so the bar's output and throttling are exact. */
function fakeSink(terminal: boolean) {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  const sink: ProgressSink = {
    writeSync: (p) => (chunks.push(dec.decode(p)), p.length),
    isTerminal: () => terminal,
  };
  let ms = 0;
  return { sink, chunks, now: () => ms, advance: (dt: number) => void (ms += dt) };
}

Deno.test("Progress draws label, bar, count, speed, ETA and loss, redrawn at most 10 times a second", () => {
  const f = fakeSink(true);
  const p = new Progress({ total: 250, label: "epoch 3/100", sink: f.sink, now: f.now });
  f.advance(12_000);
  p.update(120, { imagesPerSec: 4512.4, loss: 178.29 });
  assertEquals(f.chunks, [
    "\repoch 3/100 [#########...........] 120/250 4,512 img/s ETA 0:13 loss 178.3\x1b[K",
  ]);
  f.advance(50);
  p.update(121, { imagesPerSec: 4500 }); // within 100 ms of the last draw: skipped
  assertEquals(f.chunks.length, 1);
  f.advance(60);
  p.update(122, { imagesPerSec: 4500 });
  assertEquals(f.chunks.length, 2);
  assert(!f.chunks[1].includes("loss"));
  p.update(250, { imagesPerSec: 4500, loss: 1.5 }); // the last step always draws
  assert(
    f.chunks[2].includes("[####################] 250/250") && f.chunks[2].includes("ETA 0:00"),
  );
  p.done("epoch 3/100: train 178.3, validation 180.1 (55.4 s)");
  assertEquals(f.chunks[3], "\repoch 3/100: train 178.3, validation 180.1 (55.4 s)\x1b[K\n");
});

Deno.test("Progress prints plain lines every ~10 s when stderr is not a terminal", () => {
  const f = fakeSink(false);
  const p = new Progress({ total: 1000, label: "epoch 1/2", sink: f.sink, now: f.now });
  for (let b = 1; b <= 1000; b++) {
    f.advance(25); // 25 s in all: lines at 10 s and 20 s
    p.update(b, { imagesPerSec: 8000, loss: 200 - b / 10 });
  }
  p.done("epoch 1/2 done");
  assertEquals(f.chunks.length, 3);
  assertEquals(
    f.chunks[0],
    "epoch 1/2 [########............] 400/1000 8,000 img/s ETA 0:15 loss 160.0\n",
  );
  assert(f.chunks.every((c) => !c.includes("\r") && !c.includes("\x1b")));
  assertEquals(f.chunks[2], "epoch 1/2 done\n");
  throws(() => new Progress({ total: 0, label: "x", sink: f.sink }), RangeError);
});

Deno.test("debugEnabled: DEBUG=0, false, no, off or empty is off; anything else is on", () => {
  const was = Deno.env.get("DEBUG");
  try {
    for (const v of ["0", "false", "no", "off", "", " OFF "]) {
      Deno.env.set("DEBUG", v);
      assert(!debugEnabled(), `DEBUG=${JSON.stringify(v)} counts as set`);
    }
    for (const v of ["1", "yes", "true", "kernels"]) {
      Deno.env.set("DEBUG", v);
      assert(debugEnabled(), `DEBUG=${v} counts as unset`);
    }
    Deno.env.delete("DEBUG");
    assert(!debugEnabled());
  } finally {
    if (was === undefined) Deno.env.delete("DEBUG");
    else Deno.env.set("DEBUG", was);
  }
});
