"""The public surface changes only on purpose."""

import tools.reid


def test_exported_names() -> None:
    assert tools.reid.__all__ == [
        "AnalysisOptions",
        "EngineError",
        "FetchError",
        "InvalidInput",
        "LocalBackend",
        "MediaError",
        "PersonSpec",
        "ReIDError",
        "ReIDRequest",
        "ReIDResult",
        "ReIDSettings",
        "ReIDTool",
        "ReferencePhotoError",
        "RemoteBackend",
    ]
    for name in tools.reid.__all__:
        assert getattr(tools.reid, name).__name__ == name
