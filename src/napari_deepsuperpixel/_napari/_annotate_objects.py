"""The annotate dock's sections 3 and 4, scribbles to objects: a part of :class:`~._annotate_widget.AnnotateWidget`.

*Train* runs :func:`~napari_deepsuperpixel.annotate.segment_objects` (through
:func:`~._annotate_job.run_train_job`) in a worker, adds a new objects layer and
keeps the previous ones; the split controls redo the latest objects live from
the cached features.
"""

from __future__ import annotations

from ._annotate_job import ROLES


class ScribblesToObjects:
    """Sections 3 and 4 of the annotate dock (mixed into :class:`~._annotate_widget.AnnotateWidget`)."""

    def make_train_job(self):
        """The :class:`~._annotate_job.TrainJob` of the current layers (``ValueError`` says what is missing)."""
        import numpy as np

        from ._annotate_job import TrainJob, check_embedding, feature_cache_key

        sp_layer = self.superpixels.value
        img = self._image_data(None if sp_layer is None else sp_layer.data.shape)
        shape = self._spatial_shape()
        scr_layer = self.scribbles.value
        if scr_layer is None or scr_layer is sp_layer:
            raise ValueError("no scribble layer: press 'New scribble layer' and paint a few strokes per class")
        scribbles = np.array(scr_layer.data, copy=True)
        if scribbles.shape != shape:
            raise ValueError(f"scribbles {scr_layer.name!r} have shape {scribbles.shape}, the image {shape}; "
                             "press 'New scribble layer'")
        emb = None
        if self.embedding.value is not None:
            emb = check_embedding(self.embedding.value.data, shape, self.embedding.value.name)
        settings = self.settings()
        options = {"object_class": settings["object_class"], "split": settings["split"],
                   "split_h": settings["split_h"], "classifier": settings["classifier"],
                   "filters": settings["filters"], "object_size": settings["object_size"] or None}
        sp, cached, key = None, None, None
        if sp_layer is not None:
            sp = np.asarray(sp_layer.data)
            key = feature_cache_key(sp_layer.data, self.image.value.data,
                                    None if emb is None else self.embedding.value.data, settings["filters"])
            cached = self._features[1] if self._features[0] == key else None
        job = TrainJob(image=img, scribbles=scribbles, superpixels=sp, features=cached, embedding=emb,
                       n_uncertain=settings["n_uncertain"], options=options)
        return job, key

    def train(self):
        """Train on the scribbles and make the objects (``segment_objects``) in a worker thread.

        Returns
        -------
        worker or None
            The started worker; ``None`` while one runs or when an input is missing (the status says which).
        """
        from ._annotate_job import run_train_job

        chosen = self.ready(self.make_train_job)
        if chosen is None:
            return None
        job, key = chosen
        self._remember_settings()
        self.status.value = ("training..." if job.features is not None else
                             "measuring the objects, making superpixels and training..." if job.superpixels is None
                             else "computing features and training...")
        return self.start(run_train_job, job, on_returned=lambda out: self._on_trained(out, key, job),
                          on_errored=self._on_errored, button=self.train_button)

    def _remember_settings(self) -> None:
        scr = self.scribbles.value
        if scr is not None:
            scr.metadata["annotate"] = self.settings()

    def _on_trained(self, out, key, job):
        from ._annotate_job import feature_cache_key, table_for_layer
        from ._layers import _put, mark, result_name

        res = out["result"]
        base = self._base_name()
        if job.superpixels is None:  # segment_objects made them: a layer, reused by the next training
            sp_layer = self._add(res.superpixels, f"{base} superpixels", "superpixels", opacity=0.6,
                                 metadata={"source_layer": base, "object_size": res.object_size})
            sp_layer.contour = 1
            sp_layer.visible = False
            with self.superpixels.changed.blocked():
                self.superpixels.reset_choices()
                self.superpixels.value = sp_layer
            self._refresh_paintable()
            key = feature_cache_key(sp_layer.data, self.image.value.data,
                                    None if job.embedding is None else self.embedding.value.data,
                                    job.options.get("filters", False))
        else:
            sp_layer = self.superpixels.value
        self._features = (key, res.features)
        geo = self._geometry(res.objects.ndim)
        _put(self.viewer, res.classes, {"name": f"{base} classes", **geo, "opacity": 0.4, "visible": False},
             "labels", False, kind=ROLES["classes"])
        if job.n_uncertain:
            _put(self.viewer, out["uncertain"], {"name": f"{base} least confident", **geo, "visible": False},
                 "labels", False, kind=ROLES["uncertain"])
        previous = self._latest["layer"] if self._latest is not None else None
        name = result_name(self.viewer, f"{base} objects", keep=True)
        layer = self.viewer.add_labels(res.objects, name=name, **geo,
                                       metadata=mark({"annotate": self.settings(), "object_size": res.object_size,
                                                      "source_layer": base}, ROLES["objects"]))
        if previous is not None and previous in self.viewer.layers:
            previous.visible = False
        self._latest = {"job": job, "layer": layer, "written": res.objects.copy(), "key": key}
        if sp_layer is not None and tuple(sp_layer.data.shape) == tuple(res.superpixels.shape):
            sp_layer.features = table_for_layer(out["table"], sp_layer.features)
            self.export_button.enabled = True
        n_sp = int(res.classification.superpixel_ids.size)
        self._note_size(res.object_size, n_sp, measured=job.options.get("object_size") is None)
        kept = f"; '{previous.name}' kept, hidden" if previous is not None \
            and previous in self.viewer.layers else ""
        self.status.value = (f"{res.n_objects} objects in '{name}' ({out['seconds']:.1f} s){kept}. Next: strokes "
                             "where 'least confident' shows")
        if self.scribbles.value is not None:
            self.viewer.layers.selection.active = self.scribbles.value

    # -- live split ---------------------------------------------------------------------------------
    def _on_split(self, value=None, live: bool = True) -> None:
        self.split_h.enabled = self.split.value in ("shape", "shape+learned")
        if live:
            self.request_split()

    def request_split(self, *_):
        """Redo the latest objects with the split settings now shown (a worker; the latest value wins)."""
        from ._annotate_job import run_train_job

        if self._latest is None:
            return None
        if self._split_worker is not None or self.running:
            self._pending_split = True
            return None
        latest = self._latest
        sp_layer = self.superpixels.value
        if self._features[0] != latest["key"] or sp_layer is None:
            return None  # other superpixels since: the next Train uses the new settings
        import dataclasses

        import numpy as np

        options = {**latest["job"].options, "split": self.split.value,
                   "split_h": round(float(self.split_h.value), 4)}
        job = dataclasses.replace(latest["job"], superpixels=np.asarray(sp_layer.data), features=self._features[1],
                                  n_uncertain=0, options=options)
        from napari.qt.threading import create_worker

        worker = create_worker(run_train_job, job, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda out: self._on_split_done(out, latest))
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._split_finished)
        self._split_worker = worker
        self.status.value = "splitting..."
        worker.start()
        return worker

    def _on_split_done(self, out, latest) -> None:
        import numpy as np

        from ._layers import result_name

        if latest is not self._latest:
            return
        res = out["result"]
        layer = latest["layer"]
        split = f"split {self.split.value}" + (f", depth {self.split_h.value:.2f}" if self.split_h.enabled else "")
        if layer in self.viewer.layers and np.array_equal(layer.data, latest["written"]):
            layer.data = res.objects
            layer.metadata["annotate"] = self.settings()
            self.status.value = f"{split}: {res.n_objects} objects in '{layer.name}'"
        else:  # the objects were edited (or removed): the new split goes into a new layer
            name = result_name(self.viewer, f"{self._base_name()} objects", keep=True)
            layer = self.viewer.add_labels(res.objects, name=name, **self._geometry(res.objects.ndim),
                                           metadata={"annotate": self.settings()})
            self.status.value = f"{split}: {res.n_objects} objects in '{name}' (the edited ones kept)"
        latest["layer"] = layer
        latest["written"] = res.objects.copy()
        latest["job"].options.update(split=self.split.value, split_h=round(float(self.split_h.value), 4))

    def _split_finished(self) -> None:
        self._split_worker = None
        if self._pending_split:
            self._pending_split = False
            self.request_split()
