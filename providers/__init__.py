"""Provider adapters, one module per generation API, behind providers.base.Provider."""
