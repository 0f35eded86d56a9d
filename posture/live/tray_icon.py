"""The thin, impure side of ``posture tray``: the icon drawn with Pillow and shown with pystray,
the menu (pystray's own, or a Tk pop-up where pystray's X11 back-end has none), and the check for
a tray host. The monitor the tray starts is :mod:`posture.live.monitor_process`.

Everything here is a small adapter around :mod:`posture.live.tray`, which holds the logic.
pystray and Pillow come with the ``tray`` extra (:func:`posture.extra_hint` says how to add it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from posture import extra_hint
from posture.errors import InputError
from posture.live.tray import Action, MenuItem, TrayState, TrayView

__all__ = [
    "ICON_SIZE",
    "NoTray",
    "PystrayBackend",
    "icon_image",
    "tray_host",
]

log = logging.getLogger(__name__)

ICON_SIZE = 64
INSTALL_HINT = f"posture tray needs the tray extra: {extra_hint('tray', 'pystray')}"

Invoke = Callable[[Action, "int | None"], None]  # queues a menu action for the tray's own thread


class NoTray(Exception):
    """This session has no tray to show an icon in (the message says why, in one line)."""


# -- the icon ------------------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def icon_image(view: TrayView, size: int = ICON_SIZE) -> Any:
    """The icon for ``view``: an opaque square of the state's colour (opaque, since pystray's X11
    back-end drops the alpha channel) with a white mark for the states that are not about posture:
    bars when paused, a ring when away, a cross without a camera, a dash when not running, a dot
    while calibrating or starting, "!" for an alert."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), _rgb(view.colour))
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255)
    u = size / 16.0  # one sixteenth of the icon
    state = view.state
    if state is TrayState.PAUSED:
        draw.rectangle((5 * u, 4 * u, 7 * u, 12 * u), fill=white)
        draw.rectangle((9 * u, 4 * u, 11 * u, 12 * u), fill=white)
    elif state is TrayState.AWAY:
        draw.ellipse((4 * u, 4 * u, 12 * u, 12 * u), outline=white, width=max(int(1.5 * u), 1))
    elif state is TrayState.NO_CAMERA:
        draw.line((4 * u, 4 * u, 12 * u, 12 * u), fill=white, width=max(int(2 * u), 1))
        draw.line((4 * u, 12 * u, 12 * u, 4 * u), fill=white, width=max(int(2 * u), 1))
    elif state in (TrayState.NOT_RUNNING, TrayState.CRASHED):
        draw.rectangle((4 * u, 7 * u, 12 * u, 9 * u), fill=white)
    elif state in (TrayState.CALIBRATING, TrayState.STARTING):
        draw.ellipse((6 * u, 6 * u, 10 * u, 10 * u), fill=white)
    elif state is TrayState.ALERT:
        draw.rectangle((7 * u, 3 * u, 9 * u, 10 * u), fill=white)
        draw.rectangle((7 * u, 11.5 * u, 9 * u, 13.5 * u), fill=white)
    return image


# -- is there a tray? ----------------------------------------------------------------------------------


def tray_host(env: dict[str, str] | None = None) -> str | None:
    """Why no icon can be shown here, or None when a tray host is there (or cannot be checked:
    macOS, Windows, and the D-Bus back-ends pystray finds on its own)."""
    env = dict(os.environ) if env is None else env
    if sys.platform == "darwin" or os.name == "nt":
        return None
    display = env.get("DISPLAY")
    if not display:
        if env.get("WAYLAND_DISPLAY"):
            return "this Wayland session has no X11 tray to dock in (and no XWayland DISPLAY)"
        return "there is no display (DISPLAY is not set)"
    try:
        import Xlib.display
        import Xlib.error
    except ImportError:
        return None  # pystray uses another back-end (GTK, AppIndicator) that finds its own host
    try:
        conn = Xlib.display.Display(display)
    except (Xlib.error.DisplayError, OSError) as exc:
        return f"cannot open the display {display}: {exc}"
    try:
        atom = conn.intern_atom(f"_NET_SYSTEM_TRAY_S{conn.get_default_screen()}")
        owner = conn.get_selection_owner(atom)
    finally:
        conn.close()
    if owner == 0 or getattr(owner, "id", 0) == 0:
        where = (
            " (a Wayland session: its panel may not host X11 tray icons)"
            if env.get("WAYLAND_DISPLAY")
            else ""
        )
        return f"no system tray is running on display {display}{where}"
    return None


# -- the pystray adapter -------------------------------------------------------------------------------


class PystrayBackend:
    """Shows the tray's view and menu with pystray; menu clicks are queued with ``invoke``.

    pystray's X11 back-end has no menu: there a click on the icon pops up the same menu in Tk (the
    standard library's), or, without Tk, does nothing but log once.
    """

    def __init__(self, invoke: Invoke) -> None:
        try:
            import pystray
        except ImportError:
            raise InputError(INSTALL_HINT) from None
        except Exception as exc:  # pystray picks its back-end on import and may fail there
            raise NoTray(f"pystray cannot start here: {type(exc).__name__}: {exc}") from None
        self._pystray = pystray
        self._invoke = invoke
        self._menu: tuple[MenuItem, ...] = ()
        self._icon: Any = None
        self._view: TrayView | None = None  # what the icon shows now
        self._popup: _TkPopup | None = None
        self._stopped = False
        self.has_menu = bool(getattr(pystray.Icon, "HAS_MENU", True))

    def _items(self, items: Sequence[MenuItem]) -> list[Any]:
        ps = self._pystray
        out: list[Any] = []
        for item in items:
            if item.separator:
                out.append(ps.Menu.SEPARATOR)
            elif item.submenu:
                out.append(ps.MenuItem(item.label, ps.Menu(*self._items(item.submenu))))
            else:
                action, arg = item.action, item.arg
                out.append(
                    ps.MenuItem(
                        item.label,
                        (lambda _icon, _item, a=action, x=arg: self._invoke(a, x)) if action else None,
                        enabled=item.enabled and action is not None,
                        checked=(lambda _item, c=item.checked: c) if item.checked is not None else None,
                        radio=item.checked is not None,
                    )
                )
        return out

    def _pystray_menu(self, items: Sequence[MenuItem]) -> Any:
        ps = self._pystray
        if self.has_menu:
            return ps.Menu(*self._items(items))
        # X11: the click is the only event; it opens the pop-up menu.
        return ps.Menu(ps.MenuItem("Menu", lambda _icon, _item: self._pop_up(), default=True, visible=False))

    def _pop_up(self) -> None:
        if self._popup is None:
            self._popup = _TkPopup(self._invoke)
        self._popup.show(self._menu)

    def create(self, view: TrayView, menu: tuple[MenuItem, ...]) -> Any:
        """The pystray icon (not shown yet: :meth:`run` shows it)."""
        self._menu, self._view = menu, view
        self._icon = _icon_class(self._pystray)(
            "posture", icon_image(view), view.tooltip, menu=self._pystray_menu(menu)
        )
        return self._icon

    def show(self, view: TrayView, menu: tuple[MenuItem, ...]) -> None:
        self._menu = menu
        if self._stopped:
            return
        if self._icon is None:
            self.create(view, menu)
            return
        if view != self._view:  # only today's line changed: the picture stays
            self._view = view
            self._icon.icon = icon_image(view)
            self._icon.title = view.tooltip
        if self.has_menu:
            self._icon.menu = self._pystray_menu(menu)

    def run(self, setup: Callable[[], None]) -> None:
        """Show the icon and run pystray's loop in this (the main) thread until :meth:`stop`."""
        assert self._icon is not None, "show() first"

        def start(icon: Any) -> None:
            icon.visible = True
            setup()

        self._icon.run(setup=start)

    def stop(self) -> None:
        """End the menu and pystray's loop. From another thread, pystray's X11 back-end waits for
        its loop to carry out the stop, forever if the loop has already ended: so the call runs in
        a thread of its own, given two seconds."""
        if self._popup is not None:
            self._popup.close()
        self._stopped = True
        icon, self._icon = self._icon, None
        if icon is None:
            return

        def stop_icon() -> None:
            with contextlib.suppress(Exception):
                icon.stop()

        stopper = threading.Thread(target=stop_icon, name="posture-tray-stop", daemon=True)
        stopper.start()
        stopper.join(2.0)


def _icon_class(pystray: Any) -> Any:
    """pystray's icon class; on X11 one with two fixes to pystray 0.19's X11 back-end. It asks the
    tray host to dock the icon again at every change of image, and hosts such as trayer then shrink
    it to the window's first size (1 pixel wide): this one docks again only after the host has gone
    (pystray clears its ``_systray_manager`` then). And its window does not ask for clicks, so the
    click that should run the default action never arrives: this one asks for them."""
    base = pystray.Icon
    if not base.__module__.endswith("_xorg"):
        return base
    import Xlib.X

    class DockOnce(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._window.change_attributes(
                event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask
            )
            self._display.flush()

        def _assert_docked(self) -> None:
            if self._systray_manager is None:
                super()._assert_docked()

    return DockOnce


class _TkPopup:
    """The menu as a Tk pop-up at the pointer, for pystray's X11 back-end (Tk runs in its own thread:
    it must make every Tk call from one)."""

    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke
        self._requests: queue.Queue[tuple[MenuItem, ...] | None] = queue.Queue()
        self._failed = False
        self._root: Any = None  # the Tk root, in the menu's thread only
        self._popup: Any = None  # the last menu shown
        self._thread = threading.Thread(target=self._run, name="posture-tray-menu", daemon=True)
        self._thread.start()

    def show(self, menu: tuple[MenuItem, ...]) -> None:
        if self._failed:
            log.debug("no Tk: the tray's menu cannot open here")
            return
        self._requests.put(menu)

    def close(self) -> None:
        """End Tk in its own thread (Tcl must be torn down by the thread that made it)."""
        self._requests.put(None)
        self._thread.join(2.0)

    def _run(self) -> None:
        try:
            import tkinter
        except ImportError:
            self._failed = True
            log.warning("the tray's menu needs tkinter here (pystray's X11 back-end has no menu of its own)")
            return
        try:
            root = tkinter.Tk(className="posture")
        except tkinter.TclError as exc:
            self._failed = True
            log.warning("the tray's menu cannot open: %s", exc)
            return
        root.withdraw()
        self._root = root
        root.after(0, self._poll, tkinter)
        root.mainloop()
        # Tcl must be deleted by this thread: drop the references and collect here, not in
        # whichever thread the collector would next run in.
        self._root = self._popup = root = None
        import gc

        gc.collect()

    def _poll(self, tkinter: Any) -> None:
        root = self._root
        try:
            menu = self._requests.get_nowait()
        except queue.Empty:
            root.after(100, self._poll, tkinter)
            return
        if menu is None:
            root.destroy()
            return
        if self._popup is not None:
            self._popup.destroy()  # the previous one, long unposted
        popup = self._popup = self._build(tkinter, root, menu)
        x, y = root.winfo_pointerxy()
        try:
            popup.tk_popup(x, y)
        finally:
            popup.grab_release()
        root.after(100, self._poll, tkinter)

    def _build(self, tkinter: Any, parent: Any, items: Sequence[MenuItem]) -> Any:
        menu = tkinter.Menu(parent, tearoff=False)
        for item in items:
            if item.separator:
                menu.add_separator()
            elif item.submenu:
                menu.add_cascade(label=item.label, menu=self._build(tkinter, menu, item.submenu))
            elif item.checked is not None:
                var = tkinter.BooleanVar(master=menu, value=item.checked)
                menu.add_checkbutton(
                    label=item.label,
                    variable=var,
                    command=lambda a=item.action, x=item.arg: self._invoke(a, x),
                    state="normal" if item.enabled else "disabled",
                )
            else:
                menu.add_command(
                    label=item.label,
                    command=(lambda a=item.action, x=item.arg: self._invoke(a, x)) if item.action else None,
                    state="normal" if item.enabled and item.action else "disabled",
                )
        return menu
