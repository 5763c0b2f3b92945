"""The simulated KFD and GPU that stand in for real hardware behind the Transport seam."""
