"""What the two simulated GraphQL APIs (GitHub's, GitLab's) share: reading a field's argument from the query."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode
from graphql.utilities import value_from_ast_untyped


def argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    """The value of argument `name` on a field of the query (variables resolved), or None when it is not given."""
    for given in node.arguments or ():
        if given.name.value == name:
            return value_from_ast_untyped(given.value, variables)
    return None
