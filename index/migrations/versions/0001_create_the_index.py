"""create the index

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crawl_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('process', sa.String(length=300), nullable=True),
    sa.Column('accounts_ok', sa.Integer(), nullable=False),
    sa.Column('accounts_failed', sa.Integer(), nullable=False),
    sa.Column('accounts_unsupported', sa.Integer(), nullable=False),
    sa.Column('accounts_skipped', sa.Integer(), nullable=False),
    sa.Column('repos_new', sa.Integer(), nullable=False),
    sa.Column('repos_updated', sa.Integer(), nullable=False),
    sa.Column('repos_gone', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('not_modified', sa.Integer(), nullable=False),
    sa.Column('rest_points', sa.Integer(), nullable=False),
    sa.Column('graphql_points', sa.Integer(), nullable=False),
    sa.Column('per_forge', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crawl_runs'))
    )
    op.create_table('forges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('api_url', sa.String(length=500), nullable=True),
    sa.Column('pso_id', sa.String(length=64), nullable=True),
    sa.Column('ministry', sa.String(length=255), nullable=True),
    sa.Column('ignored_since', sa.Date(), nullable=True),
    sa.Column('whole_forge', sa.Boolean(), nullable=False),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forges')),
    sa.UniqueConstraint('host', name=op.f('uq_forges_host'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forge_id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=500), nullable=False),
    sa.Column('login_key', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.Column('config_name', sa.String(length=500), nullable=True),
    sa.Column('pso_id', sa.String(length=64), nullable=True),
    sa.Column('ministry', sa.String(length=255), nullable=True),
    sa.Column('ignored_since', sa.Date(), nullable=True),
    sa.Column('floss_policy', sa.String(length=1000), nullable=True),
    sa.Column('ospo_url', sa.String(length=1000), nullable=True),
    sa.Column('forge_account_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('html_url', sa.String(length=1000), nullable=True),
    sa.Column('avatar_url', sa.String(length=1000), nullable=True),
    sa.Column('website', sa.String(length=1000), nullable=True),
    sa.Column('email', sa.String(length=500), nullable=True),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('followers', sa.Integer(), nullable=True),
    sa.Column('repositories_count', sa.Integer(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['forge_id'], ['forges.id'], name=op.f('fk_accounts_forge_id_forges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('forge_id', 'login_key', name=op.f('uq_accounts_forge_id_login_key'))
    )
    op.create_table('http_validators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forge_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forge_id'], ['forges.id'], name=op.f('fk_http_validators_forge_id_forges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_http_validators')),
    sa.UniqueConstraint('forge_id', 'key', name=op.f('uq_http_validators_forge_id_key'))
    )
    op.create_table('account_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('repos_seen', sa.Integer(), nullable=False),
    sa.Column('repos_new', sa.Integer(), nullable=False),
    sa.Column('repos_updated', sa.Integer(), nullable=False),
    sa.Column('repos_gone', sa.Integer(), nullable=False),
    sa.Column('repos_renamed', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('not_modified', sa.Integer(), nullable=False),
    sa.Column('rest_points', sa.Integer(), nullable=False),
    sa.Column('graphql_points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_outcomes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['crawl_runs.id'], name=op.f('fk_account_outcomes_run_id_crawl_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_outcomes'))
    )
    with op.batch_alter_table('account_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_account_outcomes_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_account_outcomes_run_id', ['run_id'], unique=False)

    op.create_table('repositories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forge_id', sa.Integer(), nullable=False),
    sa.Column('forge_repo_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=1000), nullable=False),
    sa.Column('previous_full_names', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('owner_path', sa.String(length=1000), nullable=False),
    sa.Column('html_url', sa.String(length=1000), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('homepage', sa.String(length=1000), nullable=True),
    sa.Column('default_branch', sa.String(length=500), nullable=True),
    sa.Column('language', sa.String(length=100), nullable=True),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('forks', sa.Integer(), nullable=False),
    sa.Column('watchers', sa.Integer(), nullable=True),
    sa.Column('open_issues', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('fork', sa.Boolean(), nullable=False),
    sa.Column('parent_url', sa.String(length=1000), nullable=True),
    sa.Column('template', sa.Boolean(), nullable=False),
    sa.Column('empty', sa.Boolean(), nullable=False),
    sa.Column('license_spdx', sa.String(length=100), nullable=True),
    sa.Column('commits_365d', sa.Integer(), nullable=True),
    sa.Column('contributors_365d', sa.Integer(), nullable=True),
    sa.Column('last_commit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('releases_count', sa.Integer(), nullable=True),
    sa.Column('latest_release_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('has_readme', sa.Boolean(), nullable=True),
    sa.Column('has_license', sa.Boolean(), nullable=True),
    sa.Column('has_contributing', sa.Boolean(), nullable=True),
    sa.Column('has_changelog', sa.Boolean(), nullable=True),
    sa.Column('has_publiccode', sa.Boolean(), nullable=True),
    sa.Column('publiccode', sa.JSON(), nullable=True),
    sa.Column('signals_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_repositories_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forge_id'], ['forges.id'], name=op.f('fk_repositories_forge_id_forges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repositories')),
    sa.UniqueConstraint('forge_id', 'forge_repo_id', name=op.f('uq_repositories_forge_id_forge_repo_id'))
    )
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.create_index('ix_repositories_account_id', ['account_id'], unique=False)

    op.create_table('repository_metrics',
    sa.Column('repository_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('forks', sa.Integer(), nullable=False),
    sa.Column('watchers', sa.Integer(), nullable=True),
    sa.Column('open_issues', sa.Integer(), nullable=True),
    sa.Column('commits_365d', sa.Integer(), nullable=True),
    sa.Column('contributors_365d', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['repository_id'], ['repositories.id'], name=op.f('fk_repository_metrics_repository_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository_id', 'day', name=op.f('pk_repository_metrics'))
    )


def downgrade() -> None:
    op.drop_table('repository_metrics')
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_index('ix_repositories_account_id')

    op.drop_table('repositories')
    with op.batch_alter_table('account_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_account_outcomes_run_id')
        batch_op.drop_index('ix_account_outcomes_account_id')

    op.drop_table('account_outcomes')
    op.drop_table('http_validators')
    op.drop_table('accounts')
    op.drop_table('forges')
    op.drop_table('crawl_runs')
