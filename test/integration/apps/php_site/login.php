<?php
session_start();
$users = ['alice' => 'wonderland-1'];
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $u = isset($_POST['username']) ? $_POST['username'] : '';
    $p = isset($_POST['password']) ? $_POST['password'] : '';
    if (isset($users[$u]) && hash_equals($users[$u], $p)) {
        // a login gets a new session id
        session_regenerate_id(true);
        $_SESSION['user'] = $u;
        header('Location: /');
        exit;
    }
    http_response_code(403);
}
?><!DOCTYPE html>
<html><head><title>Log in</title></head>
<body>
<form method="post" action="/login.php">
<input name="username" id="id_username"> <input name="password" id="id_password" type="password">
<input type="submit" id="submit" value="Log in">
</form>
</body></html>
