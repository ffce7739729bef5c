"""The References tab: one card per entity (image, Approve, Reject, Regenerate, Upload) and the scene images."""

import random

import gradio as gr

from studio.project.model import MAX_SEED
from studio.ui.handlers import IMAGE_SUFFIXES
from studio.ui.sync import changed_marker

STATUS_BADGES = {"approved": "<span class='badge badge-approved'>approved</span>",
                 "rejected": "<span class='badge badge-rejected'>rejected</span>",
                 "pending": "<span class='badge badge-pending'>waiting for review</span>"}


def build(ui) -> None:
    h = ui.handlers
    with gr.Row(equal_height=True):
        ui.ref_entity = gr.Dropdown(choices=[("All entities", "")], value="", label="Make references for",
                                    allow_custom_value=True, scale=2)
        ui.ref_seed = gr.Number(label="Seed", value=-1, precision=0, minimum=-1, maximum=MAX_SEED, scale=1,
                                info="-1: each entity's own")
        ui.ref_approve = gr.Checkbox(label="Approve as made", value=False, scale=1)
        ui.refs_btn = gr.Button("Make references", variant="primary", scale=1, elem_id="refs-btn")
    ui.refs_msg = gr.Markdown(elem_classes=["inline-message"])
    ui.cards = gr.State([])

    @gr.render(inputs=[ui.cards], triggers=[ui.cards.change, ui.demo_load])
    def entity_cards(cards):
        if not cards:
            gr.Markdown("No entities yet: plan a script, then press **Make references**.", elem_classes=["empty-note"])
            return
        with gr.Row(elem_classes=["entity-grid"]):
            for card in cards:
                _card(ui, h, card)

    gr.Markdown("#### Scene images", elem_classes=["section-title"])
    ui.scene_gallery = gr.Gallery(label="Scene images", columns=4, height=300, object_fit="contain",
                                  show_label=False, allow_preview=True, elem_id="scene-gallery")
    with gr.Row(equal_height=True):
        ui.scene_images_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="scene-images-msg")
        ui.remake_btn = gr.Button("Remake scene images", size="sm", scale=0, min_width=180, elem_id="remake-btn")
    ui.remake_event = ui.remake_btn.click(h.remake_scene_images, inputs=[ui.project_id, ui.session],
                                          outputs=[ui.refs_msg], api_name="remake_scene_images", **ui.gpu)
    ui.refs_event = ui.refs_btn.click(
        h.references, inputs=[ui.project_id, ui.ref_entity, ui.ref_seed, ui.ref_approve, ui.session],
        outputs=[ui.cards, ui.scene_gallery, ui.refs_msg], api_name="references", **ui.gpu)


def _card(ui, h, card: dict) -> None:
    entity_id = card["id"]
    with gr.Column(elem_classes=["entity-card", f"status-{card['status']}"], min_width=220, key=f"card-{entity_id}"):
        gr.Image(value=card["image"], show_label=False, height=200, interactive=False,
                 buttons=[], elem_classes=["entity-image"], key=f"img-{entity_id}-{card['image']}")
        scenes = ", ".join(card["scenes"]) or "no scene"
        gr.Markdown(f"**{card['name']}** · {card['kind']}  \n{STATUS_BADGES.get(card['status'], card['status'])}  \n"
                    f"<span class='card-desc'>{card['description'] or ''}</span>  \n<span class='card-scenes'>in {scenes}</span>")
        with gr.Row(elem_classes=["card-buttons"]):
            approve = gr.Button("Approve", size="sm", variant="primary", min_width=60, key=f"approve-{entity_id}")
            reject = gr.Button("Reject", size="sm", min_width=60, key=f"reject-{entity_id}")
        with gr.Row(elem_classes=["card-buttons"]):
            again = gr.Button("Regenerate", size="sm", min_width=60, key=f"again-{entity_id}")
            upload = gr.UploadButton("Upload", size="sm", file_types=list(IMAGE_SUFFIXES), min_width=60,
                                     key=f"upload-{entity_id}")

    # Each card event also sets ui.project_changed, whose change redraws every tab (studio/ui/sync.py).
    def set_status(project_id, session, request: gr.Request, status="approved"):
        return h.set_entity_status(project_id, entity_id, status, request, session), changed_marker()

    def approve_fn(project_id, session, request: gr.Request):
        return set_status(project_id, session, request, "approved")

    def reject_fn(project_id, session, request: gr.Request):
        return set_status(project_id, session, request, "rejected")

    def regenerate_fn(project_id, session, request: gr.Request, progress=gr.Progress()):
        made = h.references(project_id, entity_id, random.randint(0, MAX_SEED), False, session, request, progress)
        return (*made, changed_marker())

    def upload_fn(project_id, file, session, request: gr.Request):
        return h.upload_entity(project_id, entity_id, file, request, session), changed_marker()

    # Keyed listeners keep their ids across re-renders of the cards, so a click that lands while the
    # cards are being re-rendered still finds its handler (gradio otherwise drops the old listeners).
    private = {"api_visibility": "private"}
    approve.click(approve_fn, inputs=[ui.project_id, ui.session], outputs=[ui.cards, ui.project_changed], key=f"approve-{entity_id}-click", **private)
    reject.click(reject_fn, inputs=[ui.project_id, ui.session], outputs=[ui.cards, ui.project_changed], key=f"reject-{entity_id}-click", **private)
    again.click(regenerate_fn, inputs=[ui.project_id, ui.session], outputs=[ui.cards, ui.scene_gallery, ui.refs_msg, ui.project_changed],
                key=f"again-{entity_id}-click", **private, **ui.gpu)
    upload.upload(upload_fn, inputs=[ui.project_id, upload, ui.session], outputs=[ui.cards, ui.project_changed], key=f"upload-{entity_id}-upload",
                  **private)
