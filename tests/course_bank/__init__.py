"""The answer bank: typical wrong answers and differently written right answers per exercise.

It is the graders' specification (``tests/test_course_bank.py``): every wrong answer must fail
its exercise on the visible and on hidden seeds with the sentence its pattern names, every right
answer must pass. ``BANK[exercise id] = (check name, [right answers], [(wrong answer, pattern)])``.
"""
from .ch01_04 import BANK as _a
from .ch05_08 import BANK as _b
from .ch09_11 import BANK as _c
from .ch12_13 import BANK as _d

BANK = {**_a, **_b, **_c, **_d}
