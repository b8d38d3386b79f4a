"""Read models: what the API shows composed from several areas, above all of them (nothing here writes).

Other areas may call nothing here: only the HTTP layer reads these.
"""
