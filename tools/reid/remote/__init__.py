"""The remote-API half: the memories.ai Human Re-identification API as both sides speak it.

`wire` (its request, envelope and callback models), `errors` (its envelope error codes),
`signing` (callback signatures), `client` (the sans-IO client, sync and async) and `backend`
(`RemoteBackend`, which the facade runs requests on). The service speaks the same wire.
"""
