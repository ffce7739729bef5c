"""The project: the data model every stage reads and writes, and the folder it lives in.

- model.py   Project / Script / Scene / Entity / Chunk, their validated JSON form, load and save
- paths.py   safe ids, paths confined to a root, atomic writes, where each file of a project lives
- approval.py  chunk approval (pending, approved, rejected) and whether a scene is fully approved
"""
