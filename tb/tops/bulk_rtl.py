"""Verilog of the bulk top's parts: stream players and recorders, answer queues, level player.

Each part is a text block of the bulk top's body (:func:`cimtile.tb.tops.bulk_top.bulk_verilog`
assembles them); names inside a block start with the part's prefix, so one generator serves
every stream of its kind. Ring entries are laid out by :class:`cimtile.tb.tops.bulk_top.Layout`.
"""

from .bulk_layout import Layout
from .pauses import PATTERN_CYCLES

__all__ = ["ring_loads", "player", "recorder", "analog_queue", "cell_queue", "level_player"]


def _slice(offsets, name):
    at, width = offsets[name]
    return f"[{at + width - 1}:{at}]"


def ring_loads(memory, port, name, half):
    """Verilog reading each half of `memory` from its binary file (``$fread``: one
    big-endian word per entry) on every toggle of its port (``{port}0``, ``{port}1``)."""
    blocks = []
    for index in (0, 1):
        file = f"{name}_{index}.bin"
        fd, got = f"{memory}_fd{index}", f"{memory}_got{index}"
        blocks.append(f"""  integer {fd}, {got};
  always @({port}{index}) if ($time > 0) begin
    {fd} = $fopen("{file}", "rb");
    if ({fd} == 0) $fatal(1, "bulk top: cannot open {file}");
    {got} = $fread({memory}, {fd}, {index * half}, {half});
    $fclose({fd});
  end""")
    return "\n".join(blocks)


def player(p, half, beat, beat_width, data_width, keep_width):
    """Verilog of a stream player, as cocotbext-axi's AxiStreamSource drives: a new beat when
    the bus is free or its beat was taken, unless this cycle's input pause bit is set.

    It drives ``{p}_valid``, ``{p}_data``, ``{p}_keep`` and ``{p}_last`` from the ring
    ``bulk_{p}_*.bin`` and reads ``{p}_ready``; its ports are ``bulk__{p}_*``."""
    return f"""
  // Player of the {p} stream.
  reg [{beat_width - 1}:0] {p}_mem [0:{2 * half - 1}];
{ring_loads(f"{p}_mem", f"bulk__{p}_load", f"bulk_{p}", half)}
  reg [31:0] {p}_sent;
  reg {p}_valid, {p}_last;
  reg [{data_width - 1}:0] {p}_data;
  reg [{keep_width - 1}:0] {p}_keep;
  reg [{beat_width - 1}:0] {p}_next;
  wire {p}_ready;
  always @(posedge clk) begin
    if (rst) begin
      {p}_sent <= 32'd0; {p}_valid <= 1'b0; {p}_last <= 1'b0;
    end else if (!{p}_valid || {p}_ready) begin
      if ({p}_sent != bulk__{p}_count
          && !(bulk__pauses_on[0] && pause_in_mem[cycle % 32'd{PATTERN_CYCLES}])) begin
        {p}_next = {p}_mem[({p}_sent - bulk__{p}_base) % 32'd{2 * half}];
        {p}_data <= {p}_next{_slice(beat, "tdata")};
        {p}_keep <= {p}_next{_slice(beat, "tkeep")};
        {p}_last <= {p}_next{_slice(beat, "tlast")};
        {p}_valid <= 1'b1;
        {p}_sent <= {p}_sent + 32'd1;
      end else begin
        {p}_valid <= 1'b0; {p}_last <= 1'b0;
      end
    end
  end
  assign bulk__{p}_sent = {p}_sent;
  assign bulk__{p}_hungry = {p}_count_r - {p}_sent <= 32'd{half};
"""


def recorder(p, half, out, out_width, data_width, keep_width):
    """Verilog of a stream recorder, as cocotbext-axi's AxiStreamSink takes beats: TREADY
    from the output pause bit of the cycle before; every beat stored with its cycle.

    It reads ``{p}_valid``, ``{p}_data``, ``{p}_keep``, ``{p}_last``, drives ``{p}_ready``,
    counts frames in ``{p}_frames``; the ring is dumped to ``bulk_{p}_*.hex``; its ports are ``bulk__{p}_*``."""
    return f"""
  // Recorder of the {p} stream.
  reg [{out_width - 1}:0] {p}_mem [0:{2 * half - 1}];
  always @(bulk__{p}_dump0) if ($time > 0) $writememh("bulk_{p}_0.hex", {p}_mem, 0, {half - 1});
  always @(bulk__{p}_dump1) if ($time > 0)
    $writememh("bulk_{p}_1.hex", {p}_mem, {half}, {2 * half - 1});
  reg {p}_ready;
  wire {p}_valid, {p}_last;
  wire [{data_width - 1}:0] {p}_data;
  wire [{keep_width - 1}:0] {p}_keep;
  reg [31:0] {p}_taken, {p}_frames;
  reg [{out_width - 1}:0] {p}_entry;
  always @(posedge clk) begin
    if (rst) begin
      {p}_ready <= 1'b0; {p}_taken <= 32'd0; {p}_frames <= 32'd0;
    end else begin
      {p}_ready <= !(bulk__pauses_on[1]
                     && pause_out_mem[(cycle - 32'd1) % 32'd{PATTERN_CYCLES}]);
      if ({p}_valid && {p}_ready) begin
        {p}_entry = {out_width}'d0;
        {p}_entry{_slice(out, "tdata")} = {p}_data;
        {p}_entry{_slice(out, "tkeep")} = {p}_keep;
        {p}_entry{_slice(out, "tlast")} = {p}_last;
        {p}_entry{_slice(out, "cycle")} = cycle;
        {p}_mem[({p}_taken - bulk__{p}_base) % 32'd{2 * half}] <= {p}_entry;
        {p}_taken <= {p}_taken + 32'd1;
        if ({p}_last) {p}_frames <= {p}_frames + 32'd1;
      end
    end
  end
  assign bulk__{p}_taken = {p}_taken;
  assign bulk__{p}_full = {p}_taken - {p}_drained_r >= 32'd{half};
"""


def analog_queue(layout, half):
    """Verilog of the analog queue: answers computed ahead, each checked against the request
    it answers. ``bulk__wl_fault_at`` is the check's self-test: at that plane (counted from
    reset) wordline 0 is flipped as the queue sees it, so the run must stop there."""
    an, an_w = Layout.offsets(layout.analog_fields)
    rows, sw = layout.rows, layout.shift_width
    return f"""
  // Analog queue: answers computed ahead, each checked against the request it answers.
  reg [{an_w - 1}:0] an_mem [0:{2 * half - 1}];
{ring_loads("an_mem", "bulk__analog_load", "bulk_analog", half)}
  reg [31:0] an_ptr, first_sample;
  wire [{an_w - 1}:0] answer = an_mem[(an_ptr - analog_base_r) % 32'd{2 * half}];
  wire sample;
  wire [{rows - 1}:0] wl;
  reg [31:0] wl_fault_at_r;
  always @(posedge clk) wl_fault_at_r <= bulk__wl_fault_at;
  wire [{rows - 1}:0] wl_seen = wl ^ ((an_ptr == wl_fault_at_r) ? {rows}'d1 : {rows}'d0);
  wire [{sw - 1}:0] adc_shift;
  reg [{layout.codes_width - 1}:0] codes_held;
  wire [{layout.codes_width - 1}:0] codes = sample ? answer{_slice(an, "codes")} : codes_held;
  reg sample_before;
  reg error;
  reg [1:0] error_kind;
  reg [31:0] error_plane, error_cycle;
  reg [{rows - 1}:0] error_wl, error_expected_wl;
  reg [{sw - 1}:0] error_shift, error_expected_shift;
  always @(posedge clk) begin
    if (rst) begin
      an_ptr <= 32'd0; sample_before <= 1'b0; error <= 1'b0; first_sample <= NO_SAMPLE;
    end else begin
      sample_before <= sample;
      if (sample) begin
        codes_held <= answer{_slice(an, "codes")};
        an_ptr <= an_ptr + 32'd1;
        // The edge that raised the strobe, as the event-driven binding stamps it.
        if (an_ptr == 32'd0) first_sample <= cycle - 32'd1;
      end
      if (!error && sample) begin
        error_plane <= an_ptr; error_cycle <= cycle - 32'd1;
        error_wl <= wl_seen; error_expected_wl <= answer{_slice(an, "wl")};
        error_shift <= adc_shift; error_expected_shift <= answer{_slice(an, "adc_shift")};
        if (sample_before) begin
          error <= 1'b1; error_kind <= 2'd2; error_plane <= an_ptr - 32'd1;
        end else if (an_ptr == bulk__analog_count) begin
          error <= 1'b1; error_kind <= 2'd3;
        end else if (wl_seen != answer{_slice(an, "wl")}
                     || adc_shift != answer{_slice(an, "adc_shift")}) begin
          error <= 1'b1; error_kind <= 2'd1;
        end
      end
    end
  end
  assign bulk__analog_used = an_ptr;
  assign bulk__analog_hungry = analog_count_r - an_ptr <= 32'd{half};
  assign bulk__first_sample_cycle = first_sample;
  assign bulk__error = error;
  assign bulk__error_kind = error_kind;
  assign bulk__error_plane = error_plane;
  assign bulk__error_cycle = error_cycle;
  assign bulk__error_wl = error_wl;
  assign bulk__error_expected_wl = error_expected_wl;
  assign bulk__error_shift = error_shift;
  assign bulk__error_expected_shift = error_expected_shift;
"""


def cell_queue(layout, half, has_row, has_col):
    """Verilog of the cell queue: the verify reads and pulses of write-verify, computed ahead
    with their read answers. Each read or pulse the tile issues is checked against the next
    entry (kind, cell, and for a pulse its polarity, amplitude and width); a read is answered
    with the entry's code, held until the next read. The first breach latches
    ``bulk__cell_error`` with the entry, its cycle and both requests."""
    cq, _ = Layout.offsets(layout.cell_fields)
    req_w = cq["code"][0]
    adc = layout.adc_bits
    row = "cell_row" if has_row else f"{cq['row'][1]}'d0"
    col = "cell_col" if has_col else f"{cq['col'][1]}'d0"
    wires = [f"wire [{cq['row'][1] - 1}:0] cell_row;"] if has_row else []
    wires += [f"wire [{cq['col'][1] - 1}:0] cell_col;"] if has_col else []
    return f"""
  // Cell queue: write-verify requests computed ahead, each checked as the tile issues it.
  reg [{layout.cell_width - 1}:0] cq_mem [0:{2 * half - 1}];
{ring_loads("cq_mem", "bulk__cell_load", "bulk_cell", half)}
  reg [31:0] cq_ptr;
  wire [{layout.cell_width - 1}:0] cq_entry = cq_mem[(cq_ptr - cell_base_r) % 32'd{2 * half}];
  wire cell_read, cell_pulse, cell_polarity;
  wire [7:0] cell_amplitude;
  wire [15:0] cell_width;
  {" ".join(wires)}
  reg [{req_w - 1}:0] cq_seen;
  always @* begin
    cq_seen = {req_w}'d0;
    cq_seen{_slice(cq, "flags")} = {{cell_pulse & cell_polarity, cell_pulse, cell_read}};
    cq_seen{_slice(cq, "row")} = {row};
    cq_seen{_slice(cq, "col")} = {col};
    if (cell_pulse) begin
      cq_seen{_slice(cq, "amplitude")} = cell_amplitude;
      cq_seen{_slice(cq, "width")} = cell_width;
    end
  end
  reg [{adc - 1}:0] read_code_held;
  wire [{adc - 1}:0] read_code = cell_read ? cq_entry{_slice(cq, "code")} : read_code_held;
  reg cell_error;
  reg [1:0] cell_error_kind;
  reg [31:0] cell_error_index, cell_error_cycle;
  reg [{req_w - 1}:0] cell_error_seen, cell_error_expected;
  always @(posedge clk) begin
    if (rst) begin
      cq_ptr <= 32'd0; cell_error <= 1'b0; read_code_held <= {adc}'d0;
    end else if (cell_read || cell_pulse) begin
      if (cell_read) read_code_held <= cq_entry{_slice(cq, "code")};
      cq_ptr <= cq_ptr + 32'd1;
      if (!cell_error) begin
        cell_error_index <= cq_ptr; cell_error_cycle <= cycle - 32'd1;
        cell_error_seen <= cq_seen; cell_error_expected <= cq_entry[{req_w - 1}:0];
        if (cq_ptr == cell_count_r) begin
          cell_error <= 1'b1; cell_error_kind <= 2'd2;
        end else if (cq_seen != cq_entry[{req_w - 1}:0]) begin
          cell_error <= 1'b1; cell_error_kind <= 2'd1;
        end
      end
    end
  end
  assign bulk__cell_used = cq_ptr;
  assign bulk__cell_hungry = cell_count_r - cq_ptr <= 32'd{half};
  assign bulk__cell_error = cell_error;
  assign bulk__cell_error_kind = cell_error_kind;
  assign bulk__cell_error_index = cell_error_index;
  assign bulk__cell_error_cycle = cell_error_cycle;
  assign bulk__cell_error_seen = cell_error_seen;
  assign bulk__cell_error_expected = cell_error_expected;
"""


def level_player(count, bits, entry_bits, file):
    """Verilog of the level player, which loads the crossbar emulator, and the stamp of the
    first analog request."""
    return f"""
  // Level player: on a toggle of bulk__levels_load, every payload of {file} into the
  // emulator's l_stream, one a transfer; bulk__levels_done rises after the last.
  reg [{entry_bits - 1}:0] lv_mem [0:{count - 1}];
  integer lv_fd, lv_got;
  always @(bulk__levels_load) if ($time > 0) begin
    lv_fd = $fopen("{file}", "rb");
    if (lv_fd == 0) $fatal(1, "bulk top: cannot open {file}");
    lv_got = $fread(lv_mem, lv_fd, 0, {count});
    $fclose(lv_fd);
  end
  reg lv_toggle, lv_playing, lv_done, l_valid;
  reg [31:0] lv_ptr;
  reg [{entry_bits - 1}:0] lv_next;
  reg [{bits - 1}:0] l_payload;
  wire l_ready;
  always @(posedge clk) begin
    lv_toggle <= bulk__levels_load;
    if (rst) begin
      lv_playing <= 1'b0; lv_done <= 1'b0; l_valid <= 1'b0;
    end else if (lv_toggle != bulk__levels_load) begin
      lv_playing <= 1'b1; lv_done <= 1'b0; lv_ptr <= 32'd0;
    end else if (lv_playing && (!l_valid || l_ready)) begin
      if (lv_ptr != 32'd{count}) begin
        lv_next = lv_mem[lv_ptr];
        l_payload <= lv_next[{bits - 1}:0];
        l_valid <= 1'b1;
        lv_ptr <= lv_ptr + 32'd1;
      end else begin
        l_valid <= 1'b0; lv_playing <= 1'b0; lv_done <= 1'b1;
      end
    end
  end
  assign bulk__levels_done = lv_done;

  // The first analog request, stamped as the analog queue stamps it.
  wire sample;
  reg sampled;
  reg [31:0] first_sample;
  always @(posedge clk) begin
    if (rst) begin
      sampled <= 1'b0; first_sample <= NO_SAMPLE;
    end else if (sample && !sampled) begin
      sampled <= 1'b1; first_sample <= cycle - 32'd1;
    end
  end
  assign bulk__first_sample_cycle = first_sample;
"""
