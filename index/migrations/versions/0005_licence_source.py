"""licence source, current SPDX ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

`repositories.licence_source`: where `license_spdx` comes from ("forge", or "publiccode" when the forge found an
unidentified licence and a valid publiccode.yml names it). The deprecated GNU ids GitHub reports are rewritten as
the current ids the crawler now stores ("GPL-3.0" → "GPL-3.0-only", as the SPDX list defines them).
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEPRECATED = {f"{name}-{version}": f"{name}-{version}-only"
              for name, versions in (("GPL", ("1.0", "2.0", "3.0")), ("LGPL", ("2.0", "2.1", "3.0")),
                                     ("AGPL", ("1.0", "3.0")), ("GFDL", ("1.1", "1.2", "1.3")))
              for version in versions}


def upgrade() -> None:
    with op.batch_alter_table('repositories') as batch:
        batch.add_column(sa.Column('licence_source', sa.String(length=20), nullable=True))
    repositories = sa.table('repositories', sa.column('license_spdx', sa.String), sa.column('licence_source', sa.String))
    for old, new in DEPRECATED.items():
        op.execute(repositories.update().where(repositories.c.license_spdx == old).values(license_spdx=new))
    op.execute(repositories.update().where(repositories.c.license_spdx.isnot(None)).values(licence_source='forge'))


def downgrade() -> None:
    with op.batch_alter_table('repositories') as batch:
        batch.drop_column('licence_source')
