"""The security suite: who may do what (test_role_table), generated updates (test_fuzz), and
the shapes of known defects (test_known_shapes). Its figures are printed at the end of a run."""
