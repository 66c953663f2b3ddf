<?php
session_start();
$_SESSION = [];
$p = session_get_cookie_params();
setcookie(session_name(), 'deleted', time() - 42000, $p['path']);
session_destroy();
header('Location: /');
