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


def test_engine_exported_names() -> None:
    from tools.reid import engine

    assert engine.__all__ == [
        "Limits",
        "analyze",
        "draw_moment",
        "drawn_moments",
        "frames_at",
        "probe",
        "render_keyframes",
        "render_timeline",
        "render_unknown_crops",
        "shutdown_pool",
        "timeline_image",
    ]
    for name in engine.__all__:
        assert getattr(engine, name).__name__ == name
