//! The benchmark report: every figure of one run as Markdown tables (`docs/PERFORMANCE.md`)
//! next to the bars they are held to (desktop times against wasmi and Silverfir-nano's
//! interpreter), and a chart of the Tandem/wasmi ratios
//! (`docs/performance.svg`, plotters).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::board::{BoardProgram, BoardRun, Variant};
use crate::translate::TranslationRow;
use crate::{Group, Row, geometric_mean, group_means};

/// The Cortex-M4 half: one run per engine and every variant's flash.
pub struct BoardFigures {
    /// The Tandem firmware's run (no on-device validation).
    pub tandem: BoardRun,
    /// The wasmi firmware's run (no on-device validation).
    pub wasmi: BoardRun,
    /// The images-only Tandem firmware's run (code in flash).
    pub images: BoardRun,
    /// `.vector_table` + `.text` + `.rodata` of each variant, in bytes.
    pub flash: Vec<(Variant, u64)>,
}

/// Everything one run measured.
pub struct Figures {
    /// Timed runs per engine and program on the desktop.
    pub runs: usize,
    /// The desktop figures, one row per program.
    pub desktop: Vec<Row>,
    /// Translation times on the desktop, one row per module (none if not measured).
    pub translation: Vec<TranslationRow>,
    /// The Cortex-M4 figures, if the board half ran (`--board` or `--report`).
    pub board: Option<BoardFigures>,
    /// A line on where and when (CPU, date), for the reader.
    pub machine: String,
}

fn ratio(a: f64, b: f64) -> f64 {
    a / b
}

/// The set of the program named `name` (the board's rows carry names only).
fn group_of(name: &str) -> Option<Group> {
    crate::all_programs().find(|p| p.name == name).map(|p| p.group)
}

impl Figures {
    /// Tandem's time over a peer's (`peer` picks its time from a row) per desktop program of
    /// `group`, or of every group, in order.
    fn ratios(&self, peer: fn(&Row) -> Duration, group: Option<Group>) -> Vec<f64> {
        let rows = self.desktop.iter().filter(|r| group.is_none_or(|g| r.group == g));
        rows.map(|r| ratio(r.tandem.as_secs_f64(), peer(r).as_secs_f64())).collect()
    }
}

/// A row's wasmi time, for [`Figures::ratios`].
fn wasmi(r: &Row) -> Duration {
    r.wasmi
}

/// A row's Silverfir-nano time, for [`Figures::ratios`].
fn silverfir(r: &Row) -> Duration {
    r.silverfir
}

/// Each program of `run` with the same program's row in `other`, in `run`'s order.
fn matched<'a>(
    run: &'a BoardRun,
    other: &'a BoardRun,
) -> impl Iterator<Item = (&'a BoardProgram, &'a BoardProgram)> {
    run.programs
        .iter()
        .filter_map(|p| other.programs.iter().find(|o| o.name == p.name).map(|o| (p, o)))
}

impl BoardFigures {
    /// The two engines' rows for each program, in the firmware's order.
    fn pairs(&self) -> impl Iterator<Item = (&BoardProgram, &BoardProgram)> {
        matched(&self.tandem, &self.wasmi)
    }

    /// Tandem/wasmi instructions per program of `group`.
    fn instruction_ratios(&self, group: Group) -> Vec<f64> {
        let pairs = self.pairs().filter(|(t, _)| group_of(&t.name) == Some(group));
        pairs.map(|(t, w)| ratio(t.instructions as f64, w.instructions as f64)).collect()
    }

    fn flash(&self, variant: Variant) -> Option<u64> {
        self.flash.iter().find(|(v, _)| *v == variant).map(|(_, b)| *b)
    }

    /// Flash `variant` adds to the glue-only baseline: the engine's own. The baseline links
    /// the programs as wasm; the images build links them as images, whose extra bytes are
    /// the programs', not the engine's, and are taken off.
    fn added(&self, variant: Variant) -> Option<u64> {
        let programs = match variant {
            Variant::TandemImages => {
                self.images.module_bytes.checked_sub(self.tandem.module_bytes)?
            }
            _ => 0,
        };
        let added = self.flash(variant)?.checked_sub(self.flash(Variant::Baseline)?)?;
        added.checked_sub(programs)
    }

    /// Per program: (name, Tandem's heap per instance reading its image in place, wasmi's
    /// once running), stacks excluded.
    fn image_heaps(&self) -> Vec<(&str, u64, u64)> {
        matched(&self.images, &self.wasmi)
            .map(|(i, w)| (i.name.as_str(), running_heap(i), running_heap(w)))
            .collect()
    }

    /// Per program: (name, instructions to read its image in place, to decode and translate
    /// its wasm), both Tandem without on-device validation.
    fn load_instructions(&self) -> Vec<(&str, u64, u64)> {
        matched(&self.images, &self.tandem)
            .map(|(i, t)| (i.name.as_str(), i.load_instructions, t.load_instructions))
            .collect()
    }

    /// Tandem's heap for the module and instance (nothing grows when it runs) against
    /// wasmi's once running, stacks excluded as far as they can be: (tandem, wasmi).
    fn instance_heaps(&self) -> Vec<(&str, u64, u64)> {
        self.pairs().map(|(t, w)| (t.name.as_str(), running_heap(t), running_heap(w))).collect()
    }
}

/// What a program's module and instance hold once running, the store's own heap excluded.
fn running_heap(p: &BoardProgram) -> u64 {
    p.running_heap - p.store_heap
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// The report as Markdown.
pub fn markdown(f: &Figures) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Performance\n");
    let _ = writeln!(
        w,
        "Tandem against wasmi 2.0.0 (and on the desktop Silverfir-nano 0.6.0's interpreter) \
         on the project's own benchmark programs: the Rust kernels of `suites/bench/`, its \
         tight loops (WAT kernels: a counter in a local, a parameter or a global, calls, \
         memory, `br_table`, i64 and f64 arithmetic) and the real programs of `suites/apps/` \
         (their `bench(n)`: the workload without output), on the desktop and on the Cortex-M4 \
         board, from one run of the harness ({}). Every kernel's checksum equals the native \
         kernel's, every app's is the same on every engine. Means are taken over each set \
         apart, so the kernels' stay comparable with earlier reports, and over all programs. \
         Regenerate this file and the chart:\n",
        f.machine
    );
    let _ = writeln!(
        w,
        "```sh\ncargo run --release -p tandem-bench -- --report docs/PERFORMANCE.md   \
         # desktop + QEMU + footprint, this file and docs/performance.svg\n\
         cargo run --release -p tandem-bench                                      \
         # the desktop table only\n\
         cargo run --release -p tandem-bench -- --board                           \
         # desktop and Cortex-M4 tables on stdout\n```\n"
    );
    let _ = writeln!(w, "![Tandem/wasmi per program](performance.svg)\n");
    summary(w, f);
    desktop(w, f);
    translation(w, f);
    if let Some(b) = &f.board {
        cortex_m4(w, b);
        footprint(w, b);
    }
    let _ = writeln!(w, "{LIMITS}");
    md
}

/// What the figures owe to the design, and what holds back the ones short of the bar:
/// facts about the code, no measured numbers (those are in the tables above).
const LIMITS: &str = "## What the figures come from, and what limits them

- **Operands in frame slots.** Every wasm operand is a slot of the running frame, resolved \
when the function is translated; constants get slots too (copied in on entry), so \
`i32.const` costs nothing in a loop. The run loop reads and writes slots through one \
frame pointer and fetches through one instruction pointer, without bounds checks: the \
translator proves every slot and branch target in range (`interp/src/raw/`).
- **Fused pairs.** A 32-bit comparison fuses with the `br_if`/`if` that tests it and with \
the `select` it feeds (`min`, `max`, clamps: 27-36 of each app's 45-62 selects; markdown \
ran 2.2% fewer desktop instructions and 2.5% fewer on the board, lz 1.0% and 1.2%), an `i32.add` \
with the load or store it addresses (and an `i32.load`'s index scaled by an \
`i32.shl` by 2 just before, an array element: 6% of `stackvm`'s instructions were such \
shifts, which now run 5.9% fewer desktop instructions and 4.6% fewer on the board; \
`lz`'s are 16-bit, 0.9%, and the other apps have next to none); two consecutive copies, a loop counter's in-place add \
(or count-down sub) with the branch that tests it, an add with a following `br` and an add of an add's result \
each become one instruction (chosen from dynamic pair counts of the apps and kernels); so \
do a global read into an i32 add or sub and that result stored back into the global (a \
counter kept in a global; LLVM's stack-pointer prologue and epilogue, where the frame size \
has a constant slot), and an add stored into a global, while a read of the global just \
written back into the slot that holds it is dropped; 32-bit results write half a slot.
- **Cortex-M4** counts instructions, and there Tandem's per-operation path (a byte load \
and a table branch to dispatch, one load per operand, one store) is shorter than wasmi's.
- **Branch targets** are byte offsets from the start of the module's code, which a taken \
branch adds to that start as they are. As instruction indices they cost a multiply by 12 \
(two address computations) on every taken branch, on the path from the branch's load of \
its target to the next instruction's fetch: a latency each loop turn waits through, not \
hidden by prediction, since the next handler's operand fetches need the new position. \
`fib_iter`'s three-instruction loop took 8 cycles a turn, that chain's length (the \
target's load, two address computations, two steps of the instruction pointer). Byte \
offsets took the desktop from 1.10 to 1.00 of wasmi's time with every program faster \
(`count_global` -34%, `count_local` and `count_param` -27%, `sieve` -25%, `mem_sum` -22%, \
`mandel` -20%, `bulk` -18%, the apps 6-13%), and the board from 0.64 to 0.63 (one \
instruction less per taken branch, `count_local` -6%); the verifier refuses a target \
inside an instruction. Resolving a `br_table` entry's `br` in the table's own handler (one \
dispatch instead of two) saved up to 4% of the instructions (`switch`) and no desktop \
time, and cost the board's `switch` 0.9%: left out.
- **Dispatch.** The desktop builds (the simulator, this harness) run threaded dispatch: a \
handler per instruction kind, the running state in argument registers, each handler ending \
in its own indirect jump to the next instruction's handler through a table (`exec/run.rs`; \
the calls compile to jumps on x86-64 and AArch64 at opt-level 2 or 3, a test holds every \
program, and a loop of tail calls and memory switches, to a 64 KiB native stack). The boards run the same instruction bodies as one \
`match` in a loop, smaller and faster there. Against the `match` on the desktop, threaded \
dispatch executes up to 8% fewer instructions (callgrind: sieve -8%, mem_bytes -8%, crc32 \
-7%, json -4%, i64_mix -1%; calls +1%) and takes each program's layout out of the others' hands: in the `match`, every \
taken branch left through one shared indirect jump, and adding arms no benchmark ran moved \
sieve from 1.2 to 2.0 of wasmi's time. **The accumulator**: where a result is a temp that \
the next instruction alone reads, the pair passes it in a register instead of a frame slot \
(`translate/acc.rs`; ten i32 and ten i64 operations, f32 and f64 arithmetic, byte and word \
loads, their fused-address forms, byte and word stores, and as readers the conditional \
branches and `br_table`), taking a store, a load and their store-to-load latency out of the \
pair (`matmul`'s f32 product into its sum: 1.19 to 0.95 of wasmi's desktop time, 11.6% \
fewer board instructions); in the apps 17-26% of executed instructions are such pairs, in `crc32` and \
`mem_bytes` about 60%. `mem_bytes`'s inner loop went from 63 instructions a turn in five \
handlers to 49 (wasmi: 44 in six; `i32.xor` from the accumulator into it is 6 \
instructions, wasmi's 5), and its time and `crc32`'s to about 0.6 of what they were. \
The i64 and f64 forms took `i64_mix` from 250 to 189 ms (wasmi: 189) with only 4% fewer \
instructions: its chain of shifts into xors is bound by the latency of each result's trip \
through a slot, not by the count; the branch forms took the apps 1-4%. \
A local's new value read by the next instruction (`local.tee`, a counter tested after its \
update, a list walked through a local) is read from the accumulator too, its writer still \
writing the slot: 32-bit arithmetic and byte and word loads leave their result there as \
well (no new kinds), and threaded handlers read the memory's length from the executor \
instead of passing it in that register: the desktop programs ran 2.5-3.5% faster in all \
(`sieve` and `sort` 12-14%, `bulk` 10%, the apps 1.5-3%; `mem_sum` and `mem_bytes` 1-3% \
slower, the length's load; two runs of the harness each way), the board 0.65 to 0.64 of \
wasmi's instructions (`sort` -6%, `count_local` -6%, `sieve` -5%; `fib` +2.8% and `calls` \
+2.4%, the loop's arms that now keep the result). Earlier the length shared the register \
and reading it from the executor cost `sieve` 12%: the same change with these pairs is a \
gain. A rotation of locals (`a, b = b, a + b`) reads the new sum there too: the 64-bit add \
and sub offer their result (of the 64-bit rows only these: on the board each offer is a \
store into an executor field, and all of them offering took its geometric mean from 0.629 \
to 0.639, these two alone to 0.632) and a \
pair of copies takes its second value from the accumulator (`Copy2Acc`): `fib_iter`, whose \
loop waited on its sum's trip through a slot, went from 1.26 to 1.00 of wasmi's desktop \
time; on the board `fib_iter` ran 1.8% fewer instructions, but the loop's arms were \
tail-merged differently (`count_param` +8%, `sort` +2%, `fib` +1.7%; 0.629 to 0.632 in all). \
A copy offers its value as well, which a 32-bit reader takes (a local moved into another \
and tested, the commonest pair of a local's write and its read in the apps): the apps ran \
about 1% faster (`stackvm` 2%, within this machine's noise), the board's instructions did \
not move (`json` -0.2%). \
On the Cortex-M4 the loop keeps 32-bit values in a local \
(0.74 to 0.69 of wasmi's instructions when the i32 forms came; 0.73 with the accumulator in \
an executor field) and 64-bit ones in an executor field: one 64-bit local for both took a \
second register through the whole loop, the memory's length was spilled, and `crc32` and \
`mem_bytes` ran 9% more instructions; the loop is that sensitive to its register \
allocation (branch forms alone, or a memory view read from the executor, spilled more). \
**Calls**: a call within the module pushes a frame (a store into a preallocated slice), \
checks that the callee's frame fits and jumps to its entry; the callee sets its own frame up \
(`InitLocals`, or `ZeroLocals` when it pools no constants, its first instruction, one slot a \
turn: vectorised, those loops' set-up made the handler save six registers), positions are \
saved as byte offsets (no division by 12), and the stats' peaks are compared against \
executor fields. The call handler went from 104 desktop instructions to 50 and `calls` \
from 197 instructions a turn to 141 (wasmi: 165); on the board `calls` went from 0.92 to \
0.67 of wasmi's instructions, `fib` 0.86 to 0.74, `json` 0.81 to 0.70. Imported callees \
(host functions, other instances) take their own instruction kind, out of line. The \
board's loop reloads its state after a return: keeping the code and the memory's view \
through the return arms cost its tight loops 1-3%. Against the counts before these \
changes, `calls` ran 28% fewer instructions, `fib` 14%, `json` 13%, `markdown` 12%, and \
the loop's layout moved `nbody` +1.4%, `crc32` +1.0% and `mandel` +1.8%. A declared local \
set to zero before any label (LLVM zeroes its accumulators at a function's start) keeps the \
zero its set-up wrote: `fib` went from 0.74 to 0.69 of wasmi's board instructions and ran \
5% fewer desktop instructions in 6% less time. Threaded handlers keep the memory's view \
through a return within the instance (desktop only: `calls` -1.4% instructions, `fib` \
-0.8%). Their call handler went from 50 instructions to 47: it checks the callee's \
frame against the highest frame end already checked and counted in the peak (one compare \
instead of two), a return finds its caller with one compare (depth 0 wraps past every frame), and a set-up \
walks a pointer (fewer registers saved than indices): `fib` 4% fewer instructions, \
`calls` 3.6%, `json` and `markdown` 2.6%. The board's loop keeps its two compares and \
counts indices, as the same code there spilled the frame pointer or the code's start \
(tight loops 3-13% more instructions); its one-compare return and a set-up without the \
per-slot index narrowing still took `fib` 4.5% and `json` and `markdown` 2.6-2.7% fewer \
instructions. **Desktop time** is otherwise held back per operation: \
a handler is three 16-bit operand fetches, two slot loads, a store and four instructions of \
dispatch (step, kind load, table address, indirect jump through the table), against wasmi's handlers that load \
the next handler's address from the code and take constants as immediates \
(`i64_mix`'s nine operations a turn: about 99 instructions against wasmi's 75, at the same \
time since its accumulator forms). Two-instruction loops (`count_param`) are bound by \
their slots' store-to-load latency, not by instruction count. Immediates alone do not \
close that: `i32.add` of a constant slot turned into \
an add of an immediate (tried; the commonest operation in the apps, 14% of what they \
execute) saved 0.1-2.2% of the instructions and no time beyond noise, and made `sieve` \
8% slower, so it was left out. Fewer instructions were not less time twice more, each left \
out: branch targets counted from the branch, which took the code's start out of the \
handlers' registers (the loop closers saved none; 2-12% fewer instructions on the loops), \
made `count_local`, `sieve` and `fib_iter` 8-13% slower and the apps 2-3%; and a shift by a \
constant as a multiply by its power of two (no count in `cl`: 2-4% fewer instructions on \
`crc32`, `i64_mix`, `stackvm`) made `crc32` 8% slower, the multiply's latency on its \
chain. A two-word trap (no stack frame in the handlers that may trap; 1% fewer desktop \
instructions) was reverted for the board: it changed the loop's register allocation and \
cost it 8-40% more instructions. \
`global.get`/`global.set` are two loads through the running instance's resolved view of \
its globals (`raw/globals.rs`); `count_global`'s loop is two dispatches (the global's \
in-place add, a compare-and-branch).
- **Noise.** One program's ratio moves by 10-30% between two builds that differ in code \
it never runs, and between this harness and a process of its own, for both engines: \
`i64_mix` read 1.05 and 1.17 in the harness for two such builds and 0.79 alone (`bench`'s \
`call` example), where wasmi took 164 ms against 125 in the harness. The handlers' and \
wasmi's code addresses, and what the programs before it left in the branch predictors, \
move. Compare the geometric means, several runs, or instruction counts (callgrind), not \
one program's time. `bulk` read 1.11 in one report and 1.24-1.26 a day later for the same \
executor (the same callgrind counts), and so did the earlier report's harness binary run \
that day: the machine's state, not the code.
- **Translation** reads each body once, as wasmi does: wasmparser's decoder dispatches \
each operator to a visitor that calls the validator's check of it and gives the operator \
back, and the translator takes it from there, in place (`interp/src/translate/read.rs`). \
Until 2026-12-06 the validator read the whole body first (weighing its constants on the \
way, which decided their frame slots) and the translator decoded it again; now a \
constant earns its slot as it comes (its first use in a loop or its third outside, the \
first 48), the temps are numbered above room for 48 and moved down over the unused ones \
at the body's end (`Instr::map_slots`), and the frame's set-up is settled there too. \
That took 18-21% off the apps' translation time (15% fewer instructions) and brought \
them from 1.14-1.17 of wasmi eager's time to below it; on the board, where nothing \
validates, the pre-pass went too: `Module::new` takes 19-20% fewer instructions on the \
apps. It costs the validating firmware 10 KiB of flash (`bench/fw` with `validate`: \
460.4 -> 470.8 KiB; a visitor that called the translator itself cost 49 KiB), and some \
code: the first two uses of a constant outside loops are `Const` instructions now, so \
the apps' code and heap per instance are 2.8-3.2% larger (json's heap 1.11 -> 1.14 of \
wasmi's) and run 0.1-0.5% more Cortex-M4 instructions. Tandem executes \
about 18% fewer instructions than wasmi's eager translation (`json`: 124 M against \
151 M for 20 translations, `bench`'s `translate` example): what is left is branches. \
Under cachegrind's branch model Tandem mispredicts 1.72 M times to wasmi's 1.50 M: the \
decoder's dispatch (218 K, as wasmi's), the translator's `match` on each operator \
(206 K), and the passes over the finished code: the verifier's walks (134 K), the \
renumbering of temps (80 K) and the accumulator pass (40 K). Finding the renumbered \
fields by a table of each kind's slot words instead of a `match` was tried (with a branch \
per field, and without one) and left out: no faster, the mispredicts only moved to the \
conditional branches. The translator as wasmparser's \
visitor (a method per operator instead of an `Operator` and a `match`) was tried earlier \
and left out: no faster (the second jump, on the same operator as the first, is \
predicted from it) and 37 KiB more flash. Taken before: the translator's buffers \
(operand model, control frames, the accumulator pass's targets, the constants' uses) are \
kept from one body to the next, not allocated per body (3.5% fewer instructions); a \
body's constants are found through a hashed index once it has more than 16 (compiled \
code has hundreds of distinct constants in a body); the passes over finished code test a \
kind's property with a bit (`KindSet`) instead of a `match` per instruction, and the \
verifier's slot and index walks are inlined into it (1.9% fewer instructions). Two \
stalls found earlier with `perf`: the translator copied each decoded operator (48 bytes, in wide loads that waited on the reader's \
narrower stores; 40% of its own time), and each block kept its pending forward branches \
in a list of its own (an allocation per block); reading the operator in place and \
chaining the pending branches through their own target fields took 6% off `json`'s \
translation and 9% off the large module's. Translation is timed over at least 31 rounds: \
medians of 7 moved the apps' ratio by a tenth between runs of the harness. \
- **Flash** is held back by decoding: `wasmparser`'s operator reader decodes every \
proposal's operators (threads, GC, exceptions) and cannot be trimmed below that by \
features; Tandem's own code is the translator, the executor and the module decoder. \
The images-only build leaves all three out; what remains is the executor's run loop and \
its calls, memory and table operations, the image reader and the verifier, \
instantiation, the heap account, and the soft-float and formatting code they pull in. An \
image is read in about a sixth of the instructions `Module::new` takes, most of them \
the checksum and the verifier's one pass over the code.
- **Heap per instance** is the translated code (12 bytes per instruction), the constant \
pool and the instance's tables; Tandem's value and call stacks are reserved once per \
store, at the board profile's limits, so no call allocates. An image in flash lends its \
code, headers, constants and data in place, leaving the module's small parts and the \
instance's own state.
";

fn summary(w: &mut String, f: &Figures) {
    let _ = writeln!(w, "## Against the bar\n");
    let _ = writeln!(w, "| figure | bar | measured |\n| --- | --- | --- |");
    for (group, _, mean) in group_means(|group| f.ratios(wasmi, Some(group))) {
        let _ = writeln!(
            w,
            "| desktop time, geometric mean of Tandem/wasmi ({group}) | <= 1.00 | {mean:.2} |"
        );
    }
    let slowest =
        f.desktop.iter().map(|r| (r.name, ratio(r.tandem.as_secs_f64(), r.wasmi.as_secs_f64())));
    if let Some((name, worst)) = slowest.max_by(|a, b| a.1.total_cmp(&b.1)) {
        let _ = writeln!(
            w,
            "| desktop time, slowest program's Tandem/wasmi | <= 1.30 | {worst:.2} ({name}) |"
        );
    }
    if let Some(large) = f.translation.iter().find(|r| r.name == "large") {
        let _ = writeln!(
            w,
            "| translation time of the large module, Tandem/wasmi eager | <= 1.00 | {:.2} |",
            large.tandem.as_secs_f64() / large.wasmi_eager.as_secs_f64()
        );
    }
    let all_sf = f.ratios(silverfir, None);
    if !all_sf.is_empty() {
        let _ = writeln!(
            w,
            "| desktop time, geometric mean of Tandem/Silverfir-nano (all programs) | stretch: <= 1.00 | {:.2} |",
            geometric_mean(&all_sf)
        );
    }
    let statics: Vec<f64> = f
        .desktop
        .iter()
        .filter_map(|r| r.tandem_static.map(|s| ratio(s.as_secs_f64(), r.tandem.as_secs_f64())))
        .collect();
    if !statics.is_empty() {
        let (lo, hi) =
            statics.iter().fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
        let _ = writeln!(
            w,
            "| static/heap memory backend time (desktop, memory-heavy programs) | 0.98-1.02 | \
             {:.3} geometric mean ({lo:.3}-{hi:.3}) |",
            geometric_mean(&statics)
        );
    }
    let Some(b) = &f.board else { return };
    for (group, _, mean) in group_means(|group| b.instruction_ratios(group)) {
        let _ = writeln!(
            w,
            "| Cortex-M4 instructions, geometric mean of Tandem/wasmi ({group}) | <= 1.00 | \
             {mean:.2} |"
        );
    }
    let cell = |v: Option<u64>| v.map_or("-".to_owned(), kib);
    let _ = writeln!(
        w,
        "| flash the core adds, without on-device validation | <= 96 KiB | {} (wasmi: {}) |",
        cell(b.added(Variant::Tandem { validate: false })),
        cell(b.added(Variant::Wasmi { validate: false }))
    );
    let _ = writeln!(
        w,
        "| flash the core adds, with on-device validation | report | {} (wasmi: {}) |",
        cell(b.added(Variant::Tandem { validate: true })),
        cell(b.added(Variant::Wasmi { validate: true }))
    );
    let _ = writeln!(
        w,
        "| flash the core adds, reading images only (no decoder, no translator) | <= 40 KiB \
         (stretch 32 KiB) | {} |",
        cell(b.added(Variant::TandemImages))
    );
    let image_heaps = b.image_heaps();
    let image_ratios: Vec<f64> =
        image_heaps.iter().map(|(_, i, w)| *i as f64 / *w as f64).collect();
    if let Some(((name, _, _), worst)) =
        image_heaps.iter().zip(&image_ratios).max_by(|a, b| a.1.total_cmp(b.1))
    {
        let _ = writeln!(
            w,
            "| heap per instance with the code in flash (images), Tandem/wasmi | <= 0.10 | \
             {:.3} geometric mean, at most {worst:.3} ({name}) |",
            geometric_mean(&image_ratios)
        );
    }
    let loads = b.load_instructions();
    let load_ratios: Vec<f64> = loads.iter().map(|(_, i, t)| *i as f64 / *t as f64).collect();
    if !load_ratios.is_empty() {
        let _ = writeln!(
            w,
            "| instructions to load a module, image read in place / `Module::new` | report | \
             {:.3} geometric mean |",
            geometric_mean(&load_ratios)
        );
    }
    let changed = matched(&b.images, &b.tandem)
        .map(|(i, t)| i.instructions.abs_diff(t.instructions) as f64 / t.instructions as f64)
        .fold(0.0, f64::max);
    let _ = writeln!(
        w,
        "| Cortex-M4 instructions of a call, code in flash against code in RAM | unchanged | \
         at most {:.2}% apart |",
        changed * 100.0
    );
    let heaps = b.instance_heaps();
    let heap_ratios: Vec<f64> = heaps.iter().map(|(_, t, w)| *t as f64 / *w as f64).collect();
    let worst = heaps
        .iter()
        .zip(&heap_ratios)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|((name, _, _), r)| (*name, *r));
    if let Some((worst_name, worst)) = worst {
        let _ = writeln!(
            w,
            "| heap per instance, Tandem/wasmi | <= 0.50 | {:.2} geometric mean, at most {worst:.2} \
             ({worst_name}) |",
            geometric_mean(&heap_ratios)
        );
    }
    let allocs = b.tandem.programs.iter().map(|p| p.call_allocations).max().unwrap_or(0);
    let _ = writeln!(w, "| allocations during a call | 0 | {allocs} |");
    let stack = |run: &BoardRun| {
        run.stack.iter().map(|(d, s)| format!("{s} B at depth {d}")).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        w,
        "| executor native stack at wasm call depth 10 and 1000 | equal | {} (wasmi: {}) |",
        stack(&b.tandem),
        stack(&b.wasmi)
    );
    let _ = writeln!(w);
}

fn desktop(w: &mut String, f: &Figures) {
    let _ = writeln!(
        w,
        "## Desktop\n\nMedian time of one `run(n)` call over {} timed runs per engine, engines \
         alternating run by run after one untimed warm-up call; instantiation excluded. \
         `static` is Tandem with the module's memory in a caller-provided static buffer.\n",
        f.runs
    );
    let _ = writeln!(
        w,
        "| program | n | Tandem ms | wasmi ms | Tandem/wasmi | Silverfir ms | Tandem/Silverfir | \
         static ms | static/heap |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in &f.desktop {
        let (t, wm) = (r.tandem.as_secs_f64() * 1e3, r.wasmi.as_secs_f64() * 1e3);
        let sf = r.silverfir.as_secs_f64() * 1e3;
        let (s, sr) = match r.tandem_static {
            Some(s) => {
                let s = s.as_secs_f64() * 1e3;
                (format!("{s:.1}"), format!("{:.3}", s / t))
            }
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {t:.1} | {wm:.1} | {:.2} | {sf:.1} | {:.2} | {s} | {sr} |",
            r.name,
            r.n,
            t / wm,
            t / sf
        );
    }
    let vs_wasmi = group_means(|group| f.ratios(wasmi, Some(group)));
    let vs_silverfir = group_means(|group| f.ratios(silverfir, Some(group)));
    for ((group, _, mean), (_, _, sf)) in vs_wasmi.into_iter().zip(vs_silverfir) {
        let _ = writeln!(
            w,
            "| **geometric mean, {group}** | | | | **{mean:.2}** | | **{sf:.2}** | | |"
        );
    }
    let _ = writeln!(w);
}

fn translation(w: &mut String, f: &Figures) {
    if f.translation.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "## Translation\n\n\
         Median time from a module's bytes to a module ready to instantiate (decode, validate, \
         translate) over {} runs, on the apps and on a generated module of {} functions \
         (`bench/src/translate.rs`). Tandem translates every function up front; wasmi is timed \
         translating up front (*eager*, the like-for-like figure) and as it comes (*lazy*: \
         validation up front, each function translated on its first call); Silverfir-nano \
         instantiating (its interpreter predecodes then).\n",
        crate::translate::translation_runs(f.runs),
        crate::translate::LARGE_FUNCTIONS
    );
    let _ = writeln!(
        w,
        "| module | bytes | Tandem ms | wasmi eager ms | wasmi lazy ms | Silverfir ms | \
         Tandem/wasmi eager | Tandem/wasmi lazy |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in &f.translation {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let _ = writeln!(
            w,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.name,
            r.bytes,
            ms(r.tandem),
            ms(r.wasmi_eager),
            ms(r.wasmi_lazy),
            ms(r.silverfir),
            ms(r.tandem) / ms(r.wasmi_eager),
            ms(r.tandem) / ms(r.wasmi_lazy)
        );
    }
    let _ = writeln!(w);
}

fn cortex_m4(w: &mut String, b: &BoardFigures) {
    let _ = writeln!(
        w,
        "## Cortex-M4 (QEMU mps2-an386, `-icount shift=0`)\n\n\
         Guest instructions of one `run(n)` call (the second: the first may translate lazily), \
         counted with SysTick (40 instructions per tick). Both firmwares are `bench/fw` built \
         the same way (opt-level \"s\", LTO, `thumbv7em-none-eabihf`) with the same glue; only \
         the engine feature differs. Figures are deterministic: a rerun gives the same counts.\n"
    );
    let _ = writeln!(
        w,
        "| program | n | Tandem instructions | wasmi instructions | Tandem/wasmi |\n\
         | --- | ---: | ---: | ---: | ---: |"
    );
    for (t, wm) in b.pairs() {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {:.2} |",
            t.name,
            t.n,
            t.instructions,
            wm.instructions,
            t.instructions as f64 / wm.instructions as f64
        );
    }
    for (group, _, mean) in group_means(|group| b.instruction_ratios(group)) {
        let _ = writeln!(w, "| **geometric mean, {group}** | | | | **{mean:.2}** |");
    }
    let _ = writeln!(w);

    let _ = writeln!(
        w,
        "### Heap per program\n\n\
         Bytes on the heap, linear memory excluded. *store*: taken before any module (Tandem \
         reserves its value stack of 16 Ki slots and its call-frame stack here, {} in all, so \
         that no call ever allocates; wasmi grows its stacks on demand). *instantiated*: module and instance right \
         after instantiation. *running*: everything held after the first call, store excluded \
         (wasmi translates functions lazily on first call and grows its value stack then; the \
         two cannot be told apart).\n",
        kib(b.tandem.programs.first().map_or(0, |p| p.store_heap))
    );
    let _ = writeln!(
        w,
        "| program | Tandem store | Tandem instantiated | Tandem running | wasmi store | wasmi \
         instantiated | wasmi running | running Tandem/wasmi | allocations per call (Tandem, wasmi) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (t, wm) in b.pairs() {
        let (tr, wr) = (running_heap(t), running_heap(wm));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {}, {} |",
            t.name,
            t.store_heap,
            t.instance_heap,
            tr,
            wm.store_heap,
            wm.instance_heap,
            wr,
            tr as f64 / wr as f64,
            t.call_allocations,
            wm.call_allocations
        );
    }
    images(w, b);
    let _ = writeln!(
        w,
        "\n### Native stack\n\n\
         High-water mark of the native stack during a call of `rec(d)`, which recurses `d` deep \
         in wasm (stack painted before each call).\n\n\
         | wasm call depth | Tandem | wasmi |\n| ---: | ---: | ---: |"
    );
    for (depth, t) in &b.tandem.stack {
        let wm = b.wasmi.stack.iter().find(|(d, _)| d == depth).map_or(0, |(_, s)| *s);
        let _ = writeln!(w, "| {depth} | {t} B | {wm} B |");
    }
    let _ = writeln!(w);
}

/// The images-only build against the one reading wasm, per program.
fn images(w: &mut String, b: &BoardFigures) {
    let _ = writeln!(
        w,
        "\n### Images: code in flash\n\n\
         The `tandem-images` firmware links each program as an image (`tandem compile`, made by \
         `bench/fw/build.rs`) in flash and reads it with `Module::from_static_image`: the code \
         stays there and runs in place. *load*: guest instructions of `Module::new` (decode and \
         translate, no validation) against reading the image (header, checksum, parts, and \
         the verifier over every function). *heap*: module and instance once running, store \
         excluded, against wasmi's.\n\n\
         | program | load, Module::new | load, image | image/new | heap, Tandem (RAM code) | \
         heap, Tandem (flash code) | heap, wasmi | flash code/wasmi | instructions, RAM code | \
         instructions, flash code |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (i, t) in matched(&b.images, &b.tandem) {
        let Some(wm) = b.wasmi.programs.iter().find(|w| w.name == i.name) else { continue };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.3} | {} | {} | {} | {:.3} | {} | {} |",
            i.name,
            t.load_instructions,
            i.load_instructions,
            i.load_instructions as f64 / t.load_instructions as f64,
            running_heap(t),
            running_heap(i),
            running_heap(wm),
            running_heap(i) as f64 / running_heap(wm) as f64,
            t.instructions,
            i.instructions
        );
    }
}

fn footprint(w: &mut String, b: &BoardFigures) {
    let _ = writeln!(
        w,
        "## Flash on `thumbv7em-none-eabihf` (opt-level \"s\", LTO)\n\n\
         `.vector_table` + `.text` + `.rodata` of the benchmark firmware per engine, and what \
         the engine adds to the glue alone (`none`: allocator, clock, output and the programs' \
         bytes). Without on-device validation an engine trusts that modules were validated \
         before they reached the board.\n\n\
         | build | flash | added by the engine |\n| --- | ---: | ---: |"
    );
    for (variant, bytes) in &b.flash {
        let added = match variant {
            Variant::Baseline => "-".to_owned(),
            v => b.added(*v).map_or("-".into(), kib),
        };
        let _ = writeln!(w, "| {} | {} | {added} |", variant.label(), kib(*bytes));
    }
    let _ = writeln!(w);
}

/// Draws the per-program Tandem/wasmi ratios, desktop time and (if measured) Cortex-M4
/// instructions, with the bar at 1.0, as an SVG file.
pub fn chart_svg(f: &Figures, path: &Path) -> Result<(), String> {
    let names: Vec<&str> = f.desktop.iter().map(|r| r.name).collect();
    let desktop = f.ratios(wasmi, None);
    let board: Vec<Option<f64>> = names
        .iter()
        .map(|name| {
            let b = f.board.as_ref()?;
            let (t, w) = b.pairs().find(|(t, _)| t.name == *name)?;
            Some(t.instructions as f64 / w.instructions as f64)
        })
        .collect();
    let top = desktop.iter().chain(board.iter().flatten()).fold(1.0f64, |m, r| m.max(*r)) * 1.15;
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Tandem / wasmi per program (lower is better; the bar is 1.0)",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0f64..names.len() as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("ratio")
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()?;
        let desktop_color = RGBColor(66, 113, 196);
        let board_color = RGBColor(237, 125, 49);
        chart
            .draw_series(desktop.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                Rectangle::new([(x + 0.12, 0.0), (x + 0.48, *r)], desktop_color.filled())
            }))?
            .label("desktop time")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], desktop_color.filled())
            });
        chart
            .draw_series(board.iter().enumerate().filter_map(|(i, r)| {
                let x = i as f64;
                r.map(|r| Rectangle::new([(x + 0.52, 0.0), (x + 0.88, r)], board_color.filled()))
            }))?
            .label("Cortex-M4 instructions (QEMU)")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], board_color.filled())
            });
        chart.draw_series(LineSeries::new(
            [(0.0, 1.0), (names.len() as f64, 1.0)],
            BLACK.stroke_width(2),
        ))?;
        // Program names under the axis, centred on their pair of bars.
        for (i, name) in names.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let style = TextStyle::from(("sans-serif", 14).into_font())
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(name.to_string(), (x, y + 8), style))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("cannot draw {}: {e}", path.display()))
}
