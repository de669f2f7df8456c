"""One "did you mean" wording for every name a user can mistype."""

import pytest

from ser_zoo.data.labels import resolve_classes
from ser_zoo.data.splits import get_protocol
from ser_zoo.errors import ConfigError
from ser_zoo.models.registry import model_entry
from ser_zoo.suggest import did_you_mean, hint
from ser_zoo.weights import load_card


def test_closest_first_quoted_on_request_and_nothing_when_nothing_is_close():
    keys = ["trainer.max_epochs", "trainer.min_epochs", "model.lr"]
    assert did_you_mean("trainer.max_epoch", keys) == "did you mean trainer.max_epochs or trainer.min_epochs?"
    assert did_you_mean("model.lrr", keys, quote=True) == "did you mean 'model.lr'?"
    assert did_you_mean("zzz", keys) == "" and did_you_mean(None, keys) == ""
    assert hint("model.lrr", keys) == "did you mean model.lr? " and hint("zzz", keys) == ""


@pytest.mark.parametrize(
    "lookup, typo, meant",
    [
        (get_protocol, "ravdes-6fold", "ravdess-6fold"),
        (model_entry, "mfcc_crn", "mfcc_crnn"),
        (resolve_classes, "emotion6", "emotions6"),
        (load_card, "general_6", "general6"),
    ],
)
def test_each_unknown_name_error_suggests_the_name_meant(lookup, typo, meant):
    with pytest.raises(ConfigError, match=f"'{typo}'.*did you mean {meant}\\b"):
        lookup(typo)
