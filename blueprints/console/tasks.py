"""(built by its page module: see blueprints/console/__init__.py)"""
