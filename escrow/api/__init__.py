"""The supervision system as a service (Art. 7): escrow's acts and queries over HTTP.

``escrow serve`` runs :func:`escrow.api.app.create_app` on uvicorn. Every request carries a bearer
token issued to one party (:mod:`escrow.api.tokens`); what a party may do and see is in
:mod:`escrow.api.permissions`. Needs the ``serve`` extra (FastAPI, uvicorn).
"""
