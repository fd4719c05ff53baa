// The ceiling of bulk co-simulation: the bulk top of cimtile.tb.bulk_top, clocked by this
// plain C++ loop with no cocotb and no VPI.
//
// It does at every rising clock edge what the co-simulation's testbench does when the
// bulk top wakes it (cimtile.tb.bulk_driver), at the same edges, so the run takes the
// co-simulation's cycles: reset, the SETTINGS write on AXI4-Lite with cocotbext-axi's
// timing, then the batch. The ring halves were all written ahead (cimtile.tb.ceiling):
// a refill renames the next half's file to the ring's, a drain renames the dumped file
// aside, so nothing waits for Python and no entry is copied.
//
// Run in the directory of the batch's files; it reads ceiling_plan.txt ("name value"
// lines) and writes ceiling_result.txt (the same form). Exit status: 0 when the batch
// ended, 1 when the analog queue, a protocol checker, the SETTINGS write or the cycle
// budget stopped it (the reason on stderr and in the result), 2 for unusable files.
//
// The top's clock is an input this loop toggles, as the co-simulation's main does.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "Vtop.h"
#include "verilated.h"

// The top's ports, as Verilator names them: it escapes the "__" of a port name
// (bulk__done is bulk___05Fdone).
#define BULK(name) bulk___05F##name
#define AXIL(name) s_axil___05F##name
#define CHECK(name) check___05F##name

namespace {

// Simulation time of a clock period, in the top's precision (1 ps): edges as in
// cimtile.tb.build, rising at n * PERIOD for n >= 1, the clock high from time 0.
constexpr uint64_t PERIOD = 10000;
// The analog queue's self-test plane, set to none (cimtile.tb.bulk_driver.NO_FAULT).
constexpr uint32_t NO_FAULT = 0xFFFFFFFFu;
constexpr uint32_t NO_SAMPLE = 0xFFFFFFFFu;
// The co-simulation's testbench holds the reset for four clock edges, counting the clock's
// first rise at time 0 as one, so it releases it after edge 3 (its waveform shows it).
constexpr uint64_t RESET_RELEASE_EDGE = 3;

[[noreturn]] void unusable(const std::string& what) {
    std::fprintf(stderr, "ceiling: %s\n", what.c_str());
    std::exit(2);
}

std::map<std::string, uint64_t> read_plan(const char* path) {
    std::ifstream file(path);
    if (!file) unusable(std::string("cannot read ") + path);
    std::map<std::string, uint64_t> plan;
    std::string name;
    uint64_t value;
    while (file >> name >> value) plan[name] = value;
    for (const char* key : {"settings_offset", "settings_value", "frames", "budget",
                            "pauses_on", "in_entries", "analog_entries"}) {
        if (!plan.count(key)) unusable(std::string(path) + " lacks " + key);
    }
    return plan;
}

template <typename T>
std::string hex(const T& value) {
    char text[24];
    std::snprintf(text, sizeof text, "%" PRIx64, static_cast<uint64_t>(value));
    return text;
}

template <std::size_t N>
std::string hex(const VlWide<N>& value) {
    std::string text;
    char word[12];
    for (std::size_t i = N; i-- > 0;) {
        std::snprintf(word, sizeof word, text.empty() ? "%" PRIx32 : "%08" PRIx32,
                      static_cast<uint32_t>(value[i]));
        if (!text.empty() || value[i] || i == 0) text += word;
    }
    return text;
}

void move(const std::string& from, const std::string& to) {
    if (std::rename(from.c_str(), to.c_str()) != 0) {
        unusable("cannot rename " + from + " to " + to);
    }
}

// A ring fed from pre-written halves, kept two halves ahead of what the top has used, as
// the co-simulation's feeds are (a refill is due exactly when the ring's hungry port
// rises, so checking every edge acts at the edges the testbench is woken at).
class Feed {
  public:
    Feed(std::string name, uint64_t half, uint64_t total, CData& load0, CData& load1,
         IData& count, const IData& used)
        : name_(std::move(name)), half_(half), total_(total), loads_{&load0, &load1},
          count_(count), used_(used) {}

    void refill() {
        while (done_ < total_ && done_ - used_ <= half_) {
            const unsigned index = halves_ % 2;
            move("ceiling_" + name_ + "_" + std::to_string(halves_) + ".bin",
                 "bulk_" + name_ + "_" + std::to_string(index) + ".bin");
            *loads_[index] ^= 1;
            done_ += std::min(half_, total_ - done_);
            count_ = static_cast<IData>(done_);
            ++halves_;
        }
    }

  private:
    std::string name_;
    uint64_t half_, total_, done_ = 0, halves_ = 0;
    CData* loads_[2];
    IData& count_;
    const IData& used_;
};

class Ceiling {
  public:
    explicit Ceiling(const std::map<std::string, uint64_t>& plan)
        : plan_(plan), context_(new VerilatedContext), top_(new Vtop(context_.get(), "")) {}

    int run();

  private:
    void eval_at(uint64_t time) {
        context_->time(time);
        top_->eval();
    }
    void next_rising_edge();
    void settings_write(uint64_t edge);
    bool pump(bool first);
    void write_result(const char* status, double stream_s);

    std::map<std::string, uint64_t> plan_;
    std::unique_ptr<VerilatedContext> context_;
    std::unique_ptr<Vtop> top_;
    uint64_t time_ = 0;
    uint64_t edges_ = 0;
    // The AXI4-Lite write's phase, and the edge the batch started at (its response's).
    int write_phase_ = 0;
    uint64_t started_at_ = 0;
    std::vector<Feed> feeds_;
    uint64_t out_done_ = 0;
    std::vector<uint64_t> out_counts_;
};

// Advance the model to the next rising edge and evaluate it there.
void Ceiling::next_rising_edge() {
    top_->clk = 0;
    eval_at(time_ + PERIOD / 2);
    time_ += PERIOD;
    top_->clk = 1;
    eval_at(time_);
    ++edges_;
}

// cocotbext-axi's AxiLiteMaster, as the co-simulation's SETTINGS write runs: its response
// sinks raise BREADY and RREADY the edge after the reset is released and keep them high,
// AWVALID and WVALID rise the edge after that, each valid falls the edge its transfer is
// seen, and the write returns the edge BVALID is.
void Ceiling::settings_write(uint64_t edge) {
    if (edge == RESET_RELEASE_EDGE + 1) {
        top_->AXIL(bready) = 1;
        top_->AXIL(rready) = 1;
    } else if (edge == RESET_RELEASE_EDGE + 2) {
        top_->AXIL(awaddr) = static_cast<uint32_t>(plan_["settings_offset"]);
        top_->AXIL(awprot) = 0;
        top_->AXIL(wdata) = static_cast<uint32_t>(plan_["settings_value"]);
        top_->AXIL(wstrb) = 0xF;
        top_->AXIL(awvalid) = 1;
        top_->AXIL(wvalid) = 1;
        write_phase_ = 1;
    } else if (write_phase_ == 1) {
        if (top_->AXIL(awvalid) && top_->AXIL(awready)) top_->AXIL(awvalid) = 0;
        if (top_->AXIL(wvalid) && top_->AXIL(wready)) top_->AXIL(wvalid) = 0;
        if (top_->AXIL(bvalid)) {
            write_phase_ = 2;
            started_at_ = edge;
        }
    }
}

// One wake-up of the co-simulation's pump: refill the feeds, drain full halves of the
// output recorder (all that is left once the batch ended or failed). True when it ended.
bool Ceiling::pump(bool first) {
    for (Feed& feed : feeds_) feed.refill();
    const bool finished = !first && (top_->BULK(done) || top_->BULK(timeout));
    const bool failed = top_->BULK(error);
    const uint64_t half = top_->BULK(out_half);
    const uint64_t taken = top_->BULK(out_taken);
    std::vector<unsigned> dumped;
    while (taken - out_done_ >= half || ((finished || failed) && taken > out_done_)) {
        const unsigned index = (out_done_ / half) % 2;
        (index ? top_->BULK(out_dump1) : top_->BULK(out_dump0)) ^= 1;
        dumped.push_back(index);
        out_counts_.push_back(std::min(half, taken - out_done_));
        out_done_ += out_counts_.back();
    }
    if (!dumped.empty()) {
        top_->BULK(out_drained) = static_cast<IData>(out_done_);
        eval_at(time_);  // the dumps run now, as in the testbench's ReadOnly phase
        for (std::size_t i = 0; i < dumped.size(); ++i) {
            const std::size_t k = out_counts_.size() - dumped.size() + i;
            move("bulk_out_" + std::to_string(dumped[i]) + ".hex",
                 "ceiling_out_" + std::to_string(k) + ".hex");
        }
    }
    return finished || failed;
}

int Ceiling::run() {
    Vtop& top = *top_;
    top.rst = 1;
    top.BULK(wl_fault_at) = NO_FAULT;
    top.clk = 1;
    eval_at(0);
    while (write_phase_ != 2) {
        next_rising_edge();
        if (edges_ == RESET_RELEASE_EDGE) top.rst = 0;
        settings_write(edges_);
        if (edges_ > RESET_RELEASE_EDGE + plan_["budget"]) unusable("no SETTINGS response");
    }
    if (top.AXIL(bresp) != 0) {
        write_result("settings_refused", 0);
        std::fprintf(stderr, "ceiling: SETTINGS write refused (BRESP %u)\n",
                     unsigned(top.AXIL(bresp)));
        return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    if (plan_["pauses_on"]) {
        top.BULK(pauses_load) ^= 1;
        top.BULK(pauses_on) = static_cast<CData>(plan_["pauses_on"]);
    }
    feeds_.emplace_back("in", top.BULK(in_half), plan_["in_entries"], top.BULK(in_load0),
                        top.BULK(in_load1), top.BULK(in_count), top.BULK(in_sent));
    feeds_.emplace_back("analog", top.BULK(analog_half), plan_["analog_entries"],
                        top.BULK(analog_load0), top.BULK(analog_load1),
                        top.BULK(analog_count), top.BULK(analog_used));
    top.BULK(frames_expected) = static_cast<IData>(top.BULK(frames) + plan_["frames"]);
    top.BULK(budget) = static_cast<IData>(plan_["budget"]);
    bool ended = pump(true);
    while (!ended) {
        next_rising_edge();
        ended = pump(false);
    }
    const double stream_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    top.final();
    if (top.BULK(error)) {
        write_result("analog_error", stream_s);
        std::fprintf(stderr,
                     "ceiling: the analog queue stopped the run (kind %u) at cycle %u, plane "
                     "%u: wordlines %s, the answer assumed %s\n",
                     unsigned(top.BULK(error_kind)), unsigned(top.BULK(error_cycle)),
                     unsigned(top.BULK(error_plane)), hex(top.BULK(error_wl)).c_str(),
                     hex(top.BULK(error_expected_wl)).c_str());
        return 1;
    }
    if (top.CHECK(violation)) {
        write_result("violation", stream_s);
        std::fprintf(stderr, "ceiling: AXI protocol violation (interface %u, rule %u)\n",
                     unsigned(top.CHECK(interface)), unsigned(top.CHECK(rule)));
        return 1;
    }
    if (!top.BULK(done)) {
        write_result("timeout", stream_s);
        std::fprintf(stderr, "ceiling: %u of %" PRIu64 " frames ended within the budget\n",
                     unsigned(top.BULK(frames)), plan_["frames"]);
        return 1;
    }
    write_result("ok", stream_s);
    return 0;
}

void Ceiling::write_result(const char* status, double stream_s) {
    const Vtop& top = *top_;
    std::ofstream file("ceiling_result.txt");
    file << "status " << status << "\n"
         << "stream_s " << stream_s << "\n"
         << "edges " << edges_ << "\n"
         << "stream_start_edge " << started_at_ << "\n"
         << "settings_resp " << unsigned(top.AXIL(bresp)) << "\n"
         << "first_sample_cycle "
         << (top.BULK(first_sample_cycle) == NO_SAMPLE ? -1
                                                        : int64_t(top.BULK(first_sample_cycle)))
         << "\n"
         << "out_counts";
    for (uint64_t count : out_counts_) file << " " << count;
    file << "\n"
         << "error_kind " << unsigned(top.BULK(error_kind)) << "\n"
         << "error_plane " << top.BULK(error_plane) << "\n"
         << "error_cycle " << top.BULK(error_cycle) << "\n"
         << "error_wl " << hex(top.BULK(error_wl)) << "\n"
         << "error_expected_wl " << hex(top.BULK(error_expected_wl)) << "\n"
         << "error_shift " << hex(top.BULK(error_shift)) << "\n"
         << "error_expected_shift " << hex(top.BULK(error_expected_shift)) << "\n"
         << "check_interface " << unsigned(top.CHECK(interface)) << "\n"
         << "check_rule " << unsigned(top.CHECK(rule)) << "\n";
    if (!file) unusable("cannot write ceiling_result.txt");
}

}  // namespace

int main() {
    Ceiling ceiling(read_plan("ceiling_plan.txt"));
    return ceiling.run();
}
