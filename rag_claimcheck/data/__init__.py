"""Documents to ask about: the bundled handbook and its questions, and a generated corpus with known answers.

May import: nothing else of the kit.
"""
