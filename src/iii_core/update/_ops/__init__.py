"""One module per update op, named by the op's wire name (``type``).

Rules: each module defines exactly ``decode_wire(index, op_dict)``, ``decode_struct(index,
op_struct)`` and ``apply(batch, current, index, path, argument)``, and nothing the other ops
use; :mod:`iii_core.update._table` finds a module by the wire name of a member of the generated
``UpdateOp`` union, so adding an op is the schema, the generated code and one module here.
A decoder returns ``(apply, path, argument)`` (``argument``: the op's one other field, ``value``
or ``by``, or ``None``) or raises ``InvalidOps``; ``apply`` returns the
new current value, reporting a failing op through ``batch.fail`` and returning ``current``
unchanged. Pure: no I/O.
"""
