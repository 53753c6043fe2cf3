"""Key Vault's answers land in the error tree where their handling is decided."""

from __future__ import annotations

import pytest

from shared.adapters.secrets import (
    SecretStoreError,
    SecretStoreMisconfigured,
    SecretStoreUnavailable,
    secret_store_error,
)
from shared.errors import ConfigurationError, TransientError, disposition


@pytest.mark.parametrize("status,cls,action", [
    (403, SecretStoreMisconfigured, "failed"),
    (401, SecretStoreMisconfigured, "failed"),
    (429, SecretStoreUnavailable, "retry"),
    (503, SecretStoreUnavailable, "retry"),
    (409, SecretStoreError, "retry"),  # a conflict that did not clear in time: as before, the queue retries
])
def test_each_status_gets_the_class_that_says_what_to_do(status, cls, action):
    err = secret_store_error("connector-acme-client-secret", "Could not read it.", status=status, code="X")
    assert type(err) is cls and disposition(err).action == action
    assert (err.name, err.status, err.code, str(err)) == ("connector-acme-client-secret", status, "X",
                                                          "Could not read it.")


def test_the_classes_are_tree_classes():
    assert issubclass(SecretStoreUnavailable, TransientError) and issubclass(SecretStoreMisconfigured,
                                                                             ConfigurationError)
