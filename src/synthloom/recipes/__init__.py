"""Generation recipes built on the teacher engine: ``lab`` (taxonomy-guided, InstructLab
compatible) and ``nemotron`` (prompt trees, responses, reward scoring, preference pairs).
Prompts are Jinja templates beside the code of each recipe."""
