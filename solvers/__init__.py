"""gameflow.solvers: discrete schemes, their iteration and their continuous limits.

Imports ``flows`` (never the other way round).  The schemes arrive with the
discrete-schemes work; nothing is exported yet.
"""

__all__: list[str] = []
