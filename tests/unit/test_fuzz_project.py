"""Hostile input to the project loader: whatever the bytes, the result is a Project or one clear error."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import StudioError
from studio.project.model import load_project, project_from_dict, project_to_dict
from tests.unit.test_project import make_project

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_is_a_project_or_a_one_line_error(data):
    try:
        project_from_dict(data)
    except StudioError as error:
        assert "\n" not in str(error)


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield prefix + (index,)
            yield from _paths(value, prefix + (index,))


VALID = project_to_dict(make_project())
FIELD_PATHS = list(_paths(VALID))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELD_PATHS), json_values)
def test_one_mutated_field_is_caught_or_valid(path, value):
    data = json.loads(json.dumps(VALID))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        project = project_from_dict(data)
    except StudioError as error:
        assert "\n" not in str(error)
    else:
        assert project_from_dict(project_to_dict(project)) == project  # what loads, round-trips


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_on_disk_never_crash_the_loader(tmp_path, raw):
    (tmp_path / "project.json").write_bytes(raw)
    try:
        load_project(tmp_path)
    except StudioError as error:
        assert "\n" not in str(error)
