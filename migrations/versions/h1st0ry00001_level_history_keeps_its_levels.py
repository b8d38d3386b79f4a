"""level history keeps its levels

Each move records both levels (id, code, threshold) as they were; a deleted level's id is neither blanked
in the history nor handed out again.

Revision ID: h1st0ry00001
Revises: b1ll00000001
Create Date: 2026-12-04 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'h1st0ry00001'
down_revision = 'b1ll00000001'
branch_labels = None
depends_on = None

SIDES = ('from', 'to')


def upgrade():
    with op.batch_alter_table('level_change', schema=None) as batch_op:
        for side in SIDES:
            batch_op.drop_constraint(f'fk_level_change_{side}_level_id_level', type_='foreignkey')
        for side in SIDES:
            batch_op.add_column(sa.Column(f'{side}_code', sa.String(length=32), nullable=True))
            batch_op.add_column(sa.Column(f'{side}_threshold', sa.Integer(), nullable=True))
    # the moves made so far: their levels as they are now, the best known (a level deleted before now was
    # blanked from the history already, and a threshold changed since was not kept)
    for side in SIDES:
        op.execute(f"UPDATE level_change SET"
                   f" {side}_code = (SELECT code FROM level WHERE level.id = level_change.{side}_level_id),"
                   f" {side}_threshold = (SELECT threshold FROM level WHERE level.id = level_change.{side}_level_id)"
                   f" WHERE {side}_level_id IS NOT NULL")
    if op.get_bind().dialect.name == 'sqlite':
        # AUTOINCREMENT: the id of a deleted level is not given to the next one (a PostgreSQL sequence never is)
        with op.batch_alter_table('level', schema=None, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('level', schema=None, recreate='always'):
            pass
    # ids of levels deleted since: blank, as ON DELETE SET NULL left them
    for side in SIDES:
        op.execute(f"UPDATE level_change SET {side}_level_id = NULL WHERE {side}_level_id IS NOT NULL AND NOT EXISTS"
                   f" (SELECT 1 FROM level WHERE level.id = level_change.{side}_level_id)")
    with op.batch_alter_table('level_change', schema=None) as batch_op:
        for side in SIDES:
            batch_op.drop_column(f'{side}_threshold')
            batch_op.drop_column(f'{side}_code')
        for side in SIDES:
            batch_op.create_foreign_key(f'fk_level_change_{side}_level_id_level', 'level', [f'{side}_level_id'], ['id'],
                                        ondelete='SET NULL')
