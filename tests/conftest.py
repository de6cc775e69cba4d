import os

# Check the IR's invariants after every pass of every compile in the test suite.
os.environ.setdefault("CONVRNN_VERIFY", "1")
