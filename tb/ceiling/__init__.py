"""The plain C++ Verilator main that measures how fast the same simulated top runs without cocotb."""
