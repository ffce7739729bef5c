"""Stage 1, Plan: one prompt -> an editable multi-scene Script.

- stage.py    plan_script / plan_project: the stage itself (check the prompt, pick the planner, validate)
- rules.py    the offline planner: events, lengths, camera words -> scenes and entities (no model)
- clauses.py  one clause -> subjects (or the last ones), relative clauses, objects, place, time, camera words
- phrases.py  noun phrases: where one starts and ends (a subject's ends at its verb)
- pronouns.py mentions, and what a pronoun or quantifier means ('she', 'both', 'one ... the other')
- kinds.py    small word lists: people, animals, vehicles, celestial bodies, places, times, gender
- motion.py   the camera an action's verb and its place's scale ask for
- beats.py    more scenes than events: an event told as establishing, action and outcome
- titles.py   a scene title that is a whole phrase
- lexicon.py  parts of speech from lemminflect's English lexicon, and the closed word classes
- local.py    a small instruct model through transformers, decoding constrained to the script schema
- remote.py   any OpenAI-compatible endpoint or Hugging Face provider through huggingface_hub
- prompts.py  the system prompt and messages both LLM planners send
- repair.py   every planner's answer -> a valid Script (the later stages always get one)
- schema.py   the script's JSON schema and its limits
- tables.py   Script <-> the editable tables of the Plan tab
"""
