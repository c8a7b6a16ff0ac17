"""One-time credentials: password policies and argon2id hashing."""

from credentials.hashing import (
    DEFAULT_MEMORY_KIB,
    DEFAULT_PARALLELISM,
    DEFAULT_TIME_COST,
    HashSettings,
    hash_many,
    hash_many_while,
    hash_password,
    make_context,
    verify_password,
)
from credentials.policy import (
    CLASS_ALPHABETS,
    DEFAULT_HINT_TH,
    DEFAULT_POLICY,
    DIGITS,
    LONG_POLICY,
    LOWERCASE,
    POLICIES,
    UPPERCASE,
    PasswordPolicy,
    generate,
    policy_from_name,
)

__all__ = [
    "CLASS_ALPHABETS",
    "DEFAULT_HINT_TH",
    "DEFAULT_MEMORY_KIB",
    "DEFAULT_PARALLELISM",
    "DEFAULT_POLICY",
    "DEFAULT_TIME_COST",
    "DIGITS",
    "LONG_POLICY",
    "LOWERCASE",
    "POLICIES",
    "UPPERCASE",
    "HashSettings",
    "PasswordPolicy",
    "generate",
    "hash_many",
    "hash_many_while",
    "hash_password",
    "make_context",
    "policy_from_name",
    "verify_password",
]
