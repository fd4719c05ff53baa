// The co-simulation's main: cocotb's Verilator main (share/lib/verilator/verilator.cpp of
// cocotb 2.1, Copyright cocotb contributors, Revised BSD License), changed in two ways.
//
// 1. It toggles the simulation top's clock port itself, high from time 0 with rising edges
//    at n * COSIM_PERIOD, so the model needs no --timing clock process and no timer
//    callback per edge. Between edges it stops at cocotb's own deadlines (Timer) as
//    cocotb's main does.
//
// 2. With COSIM_ATTENTION and COSIM_FREE_RUN defined (names of a top output and a top
//    input; cimtile.tb.build.build prepends the lines), it runs freely: while the free-run
//    input is high and the attention output low, it clocks the model cycle after cycle
//    with no VPI callback at all, up to the rising edge at which attention rises, or the
//    last edge before cocotb's next deadline, and then goes on as cocotb's main does,
//    whose value-change callbacks then see attention risen. A testbench raises free-run
//    only while it waits for attention and nothing else: edges of other signals during the
//    free run are not seen one by one. Waveforms, when recorded, turn the free run off.

#include <dlfcn.h>
#include <stdio.h>

#include <algorithm>
#include <memory>
#include <string>

#include "Vtop.h"
#include "verilated.h"
#include "verilated_vpi.h"

#ifndef VM_TRACE_FST
#define VM_TRACE_FST 0
#endif

#if VM_TRACE
#if VM_TRACE_FST
#include <verilated_fst_c.h>
using verilated_trace_t = VerilatedFstC;
#else
#include <verilated_vcd_c.h>
using verilated_trace_t = VerilatedVcdC;
#endif
static verilated_trace_t *tfp;
#endif

static vluint64_t main_time = 0;
static constexpr vluint64_t HALF_PERIOD = COSIM_PERIOD / 2;

double sc_time_stamp() { return main_time; }

extern "C" {
void vlog_startup_routines_bootstrap(void);
}

static inline bool settle_value_callbacks() {
    bool cbs_called, again;
    cbs_called = again = VerilatedVpi::callValueCbs();
    while (again) again = VerilatedVpi::callValueCbs();
    return cbs_called;
}

static void wrap_up() {
    VerilatedVpi::callCbs(cbEndOfSimulation);
#if VM_TRACE
    if (tfp) tfp->close();
#endif
#if VM_COVERAGE
    VerilatedCov::write();
#endif
}

// The clock's level at `time`: high from n * COSIM_PERIOD, low from the half period.
static inline CData clock_at(vluint64_t time) { return (time / HALF_PERIOD) % 2 == 0; }

#if defined(COSIM_ATTENTION) && defined(COSIM_FREE_RUN)
// Python's lock, which cocotb keeps while the model runs: released for a free run, so that
// the testbench's threads (the next ring halves made ahead) run on another core meanwhile.
// Looked up in the process, where cocotb loaded Python; absent, the lock is left alone.
class PythonLock {
  public:
    PythonLock() {
        held_ = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "PyGILState_Check"));
        save_ = reinterpret_cast<void *(*)()>(dlsym(RTLD_DEFAULT, "PyEval_SaveThread"));
        restore_ = reinterpret_cast<void (*)(void *)>(dlsym(RTLD_DEFAULT, "PyEval_RestoreThread"));
    }
    // Release the lock if this thread holds it; the state to give back to restore().
    void *release() const { return held_ && save_ && restore_ && held_() ? save_() : nullptr; }
    void restore(void *state) const {
        if (state) restore_(state);
    }

  private:
    int (*held_)() = nullptr;
    void *(*save_)() = nullptr;
    void (*restore_)(void *) = nullptr;
};

// Clock `top` freely from the rising edge at main_time, as described above. The model is
// left evaluated at the edge it stopped at.
static void free_run(Vtop &top) {
    static const PythonLock python;
    void *state = python.release();
    while (top.COSIM_FREE_RUN && !top.COSIM_ATTENTION && !Verilated::gotFinish()
           && main_time + 2 * HALF_PERIOD < VerilatedVpi::cbNextDeadline()) {
        main_time += HALF_PERIOD;
        top.clk = 0;
        top.eval();
        main_time += HALF_PERIOD;
        top.clk = 1;
        top.eval();
    }
    python.restore(state);
}
#endif

int main(int argc, char **argv) {
#if VM_TRACE_FST
    const char *traceFile = "dump.fst";
#else
    const char *traceFile = "dump.vcd";
#endif
    bool traceOn = false;
    for (int i = 1; i < argc; i++) {
        std::string arg = std::string(argv[i]);
        if (arg == "--trace") {
#if VM_TRACE
            traceOn = true;
#else
            fprintf(stderr, "Error: --trace requires the design to be built with trace support\n");
            return -1;
#endif
        } else if (arg == "--trace-file") {
            if (++i < argc) {
                traceFile = argv[i];
            } else {
                fprintf(stderr, "Error: --trace-file requires a parameter\n");
                return -1;
            }
        }
    }

    Verilated::commandArgs(argc, argv);
    std::unique_ptr<Vtop> top(new Vtop(""));
    Verilated::fatalOnVpiError(false);  // otherwise it will fail on systemtf

#if VM_TRACE
    Verilated::traceEverOn(true);
    if (traceOn) {
        tfp = new verilated_trace_t;
        top->trace(tfp, 99);
        tfp->open(traceFile);
    }
#endif

    top->clk = clock_at(0);
    vlog_startup_routines_bootstrap();
    Verilated::addExitCb([](void *) { wrap_up(); }, nullptr);
    VerilatedVpi::callCbs(cbStartOfSimulation);
    settle_value_callbacks();

    while (!Verilated::gotFinish()) {
        do {
            do {
                top->eval_step();
                VerilatedVpi::clearEvalNeeded();
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded());
            VerilatedVpi::callCbs(cbReadWriteSynch);
            VerilatedVpi::doInertialPuts();
            settle_value_callbacks();
        } while (VerilatedVpi::evalNeeded());

        top->eval_end_step();
        VerilatedVpi::callCbs(cbReadOnlySynch);

#if VM_TRACE
        if (tfp) tfp->dump(main_time);
#endif
#if defined(COSIM_ATTENTION) && defined(COSIM_FREE_RUN)
#if VM_TRACE
        const bool free = !tfp;
#else
        const bool free = true;
#endif
        if (free && top->clk && top->COSIM_FREE_RUN && !top->COSIM_ATTENTION) {
            const vluint64_t from = main_time;
            free_run(*top);
            if (main_time != from) continue;  // the stop edge's callbacks, as at any edge
        }
#endif
        // The next clock edge, or cocotb's next deadline if sooner.
        const vluint64_t edge = (main_time / HALF_PERIOD + 1) * HALF_PERIOD;
        main_time = std::min(edge, VerilatedVpi::cbNextDeadline());
        VerilatedVpi::callCbs(cbNextSimTime);
        settle_value_callbacks();
        VerilatedVpi::callTimedCbs();
        settle_value_callbacks();
        top->clk = clock_at(main_time);
    }

    top->final();
    wrap_up();
#if VM_TRACE
    if (tfp) {
        delete tfp;
        tfp = nullptr;
    }
#endif
    return Verilated::threadContextp()->errorCount() > 0 ? 1 : 0;
}
