"""[[group]] tables: a description and a closed start for the monitors whose `group` names
them; each name once, printable and at most 100 characters, like a monitor's `group`."""

from __future__ import annotations

import pytest

from statuscore import ConfigError, GroupSpec, load_config

MONITOR = '[[monitor]]\nname = "Website"\nurl = "http://127.0.0.1:9/"\ngroup = "Texts"\n'


def write(tmp_path, text: str) -> str:
    path = tmp_path / "monitors.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_group_table_describes_the_monitors_that_name_it(tmp_path):
    text = MONITOR + '[[group]]\nname = "Texts"\ndescription = "Reading the library"\ncollapsed = true\n'
    config = load_config(write(tmp_path, text))
    assert config.groups == (GroupSpec(name="Texts", description="Reading the library", collapsed=True),)
    assert config.warnings == ()


def test_a_group_no_monitor_names_is_a_warning_not_an_error(tmp_path):
    config = load_config(write(tmp_path, MONITOR + '[[group]]\nname = "Txts"\n'))
    assert config.warnings == ("[[group]] 'Txts': no monitor has this group",)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ('[[group]]\nname = "Texts"\n[[group]]\nname = "Texts"\n', "key 'group[1].name': two [[group]] tables"),
        ('[[group]]\nname = "Texts"\ncolour = "red"\n', "key 'group[0].colour'"),
        ("[[group]]\ndescription = 'no name'\n", "key 'group[0].name'"),
        (f'[[group]]\nname = "{"T" * 101}"\n', "key 'group[0].name': 1 to 100 printable characters"),
        ('[[group]]\nname = "Texts\\r\\nX-Injected: 1"\n', "key 'group[0].name'"),
        ('[[group]]\nname = "   "\n', "key 'group[0].name'"),
        ('[[group]]\nname = "Texts"\ncollapsed = "yes"\n', "key 'group[0].collapsed'"),
        ('[[group]]\nname = "Texts"\ndescription = "' + "d" * 2001 + '"\n', "key 'group[0].description'"),
        ('group = "Texts"\n', "key 'group'"),
    ],
)
def test_a_wrong_group_table_names_file_and_key(tmp_path, tables, message):
    path = write(tmp_path, tables + MONITOR)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(path) and message in str(error.value)


@pytest.mark.parametrize("group", ["T" * 101, "Texts\\u0000", "Texts\\nAPIs"])
def test_a_monitors_group_is_printable_and_fits_the_database(tmp_path, group):
    path = write(tmp_path, MONITOR.replace('group = "Texts"', f'group = "{group}"'))
    with pytest.raises(ConfigError, match="monitor 'Website': key 'group': at most 100 printable characters"):
        load_config(path)
