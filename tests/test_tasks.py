import pytest

from autobot import BLOOD, MARS, DataError, get_task


def test_class_order_matches_the_course():
    assert BLOOD.class_names == ("basophil", "eosinophil", "erythroblast", "immature_granulocyte",
                                 "lymphocyte", "monocyte", "neutrophil", "platelet")
    assert MARS.class_names == ("background", "soil", "bedrock", "sand", "big_rock")
    assert BLOOD.input_shape == (96, 96, 3) and MARS.input_shape == (64, 128, 1)
    assert MARS.scored_classes == (1, 2, 3, 4) and BLOOD.scored_classes == tuple(range(8))


@pytest.mark.parametrize("task", [BLOOD, MARS])
def test_every_class_has_a_distinct_colour(task):
    assert len(task.colors) == task.num_classes == len(set(task.colors))
    assert all(0 <= channel <= 255 for label in range(task.num_classes) for channel in task.color_rgb(label))


@pytest.mark.parametrize("name, label", [
    ("IG", 3), ("ig", 3), ("Immature Granulocytes", 3), ("Basophils", 0), ("PLATELET", 7),
    ("thrombocyte", 7), ("erythroblasts", 2), ("5", 5), ("neutrophil", 6),
])
def test_folder_names_match_loosely(name, label):
    assert BLOOD.class_index(name) == label


@pytest.mark.parametrize("name", ["cat", "8", "", "granulocyte"])
def test_unknown_folder_names_do_not_match(name):
    assert BLOOD.class_index(name) is None


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(DataError, match=r"expected one of \('blood', 'mars'\); found 'venus'"):
        get_task("venus")
