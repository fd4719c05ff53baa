"""The cocotb benches that run inside the simulator, with their drivers, monitors, analog binding and scoreboard."""
