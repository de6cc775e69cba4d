"""The CUDA implementation table: each module registers how it makes the kernels of some ops
with ``@implements("cuda", ...)`` (schedules/implementations.py); generic.py serves every op
no other module names."""
